"""`manage.py check_gate`: no view or API module reads patient data around the gate.

DESIGN.md "The one gate": every protected object is loaded through `mahalo/access.py`, which
answers 404 for missing and forbidden alike and audits the read. A view that writes
`Observation.objects.filter(...)` skips all of that, and a code review misses it easily, so
`make lint` runs this check (as Zulip enforces its `access_*` functions with a lint rule).

What is patient data is computed, not listed: `patients.Patient`, and every model with a
foreign key or one-to-one field to a model that is patient data (an observation's `patient`, a
message's `thread`, an attachment's `message`...), to a fixed point. A new app's models are
covered the day they are written.

What is scanned: in every app of this repository, its views and API modules (`views.py`,
`views/`, `*_views.py`, `api.py`, `api/`, `*_api.py`, `portal*.py`), tests and migrations
excepted. What is reported:
- `<Model>.<manager>` for a patient-data model (`objects`, `_default_manager`, `_base_manager`,
  any custom manager, simple_history's `history`);
- `get_object_or_404(<Model>, ...)` / `get_list_or_404(<Model>, ...)` on such a model.

Not reported: a manager handed to the gate itself, e.g. `access.scoped(user, Alert.objects.all(),
"clinical")`: any function of `mahalo.access` that takes a queryset (or model, or manager)
argument is a gate entry point, and what is inside its arguments is gated by construction.

The one sanctioned exception: the line that names the manager ends in a comment
`# gate: <reason>`, e.g. a query already filtered by the id of a patient that was loaded through
the gate. docs/architecture.md ("The one gate, enforced") says when that is acceptable.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import models
from django.utils.module_loading import import_string

VIEW_FILE = re.compile(r"^(views|api|.*_views|.*_api|portal.*)\.py$")
VIEW_PACKAGES = {"views", "api"}
SKIPPED_DIRS = {"tests", "migrations", "__pycache__"}
LOADERS = {"get_object_or_404", "get_list_or_404"}
EXCEPTION = re.compile(r"#\s*gate:\s*\S")
ALWAYS_MANAGERS = {"objects", "_default_manager", "_base_manager"}
GATE_MODULE = "mahalo.access"
# A gate function's parameter with one of these names receives the rows to scope.
GATE_PARAMETERS = {"queryset", "qs", "model", "manager"}


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    model: type[models.Model]
    how: str

    def __str__(self) -> str:
        label = self.model._meta.label
        return (f"{self.path}:{self.line}: {self.how} reads patient data ({label}) around the gate: "
                f"load it through mahalo.access, or end the line with `# gate: <why it is safe>`")


def patient_owned_models() -> set[type[models.Model]]:
    """Patient, and every model that points (FK / one-to-one) at a model already in the set,
    until nothing changes. Abstract, proxy-less and unmanaged models are all included: a
    read through any of them is a read of patient data."""
    patient = apps.get_model("patients", "Patient")
    owned: set[type[models.Model]] = {patient}
    everything = apps.get_models(include_auto_created=True)
    changed = True
    while changed:
        changed = False
        for model in everything:
            if model in owned:
                continue
            for field in model._meta.get_fields():
                if (field.is_relation and (field.many_to_one or field.one_to_one) and not field.auto_created
                        and field.related_model in owned):
                    owned.add(model)
                    changed = True
                    break
        # A proxy of patient data is patient data.
        for model in everything:
            if model not in owned and model._meta.proxy and model._meta.concrete_model in owned:
                owned.add(model)
                changed = True
    return owned


def gate_entry_points() -> set[str]:
    """Dotted names of the mahalo.access functions that take the rows to scope (`scoped`, and
    any loader added later with a `queryset`/`model` parameter): read from their signatures."""
    access = import_string(GATE_MODULE)
    names = set()
    for name, function in vars(access).items():
        if inspect.isfunction(function) and function.__module__ == GATE_MODULE and not name.startswith("_"):
            if GATE_PARAMETERS.intersection(inspect.signature(function).parameters):
                names.add(f"{GATE_MODULE}.{name}")
    return names


def manager_names(model: type[models.Model]) -> set[str]:
    names = set(ALWAYS_MANAGERS) | {manager.name for manager in model._meta.managers}
    if "history" in vars(model):  # django-simple-history's HistoryDescriptor
        names.add("history")
    return names


def view_modules(roots: Iterable[Path]) -> Iterator[Path]:
    """The views and API modules under each root (an app directory), or the root itself when
    it is a file (so a test can point the check at one module)."""
    for root in roots:
        if root.is_file():
            yield root
            continue
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root).parts
            if SKIPPED_DIRS.intersection(relative[:-1]):
                continue
            if VIEW_FILE.match(path.name) or VIEW_PACKAGES.intersection(relative[:-1]):
                yield path


def app_roots() -> list[Path]:
    """The apps that live in this repository (not Django's or a library's)."""
    base = Path(settings.BASE_DIR).resolve()
    roots = []
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if path.is_relative_to(base) and ".venv" not in path.parts:
            roots.append(path)
    return sorted(roots)


class _Scanner(ast.NodeVisitor):
    """Resolves names through the module's imports (at any depth: a function-level import counts
    the same), then reports manager access and 404-loaders on patient-data models."""

    def __init__(self, path: Path, module: str, owned: set[type[models.Model]], gate: set[str]):
        self.path, self.module, self.owned, self.gate = path, module, owned, gate
        self.inside_gate = 0  # > 0 while visiting the arguments of a gate entry point
        self.by_name: dict[str, set[type[models.Model]]] = {}
        for model in owned:
            self.by_name.setdefault(model.__name__, set()).add(model)
        self.aliases: dict[str, str] = {}
        self.findings: list[Finding] = []

    def collect_imports(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = self.module.split(".")[: -node.level]
                    base = ".".join([*package, base] if base else package)
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name

    def _dotted(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            head = self._dotted(node.value)
            return f"{head}.{node.attr}" if head else None
        return None

    def model_of(self, node: ast.expr) -> type[models.Model] | None:
        dotted = self._dotted(node)
        if not dotted:
            return None
        try:
            obj = import_string(dotted) if "." in dotted else None
        except ImportError:
            obj = None
        if isinstance(obj, type) and issubclass(obj, models.Model):
            return obj if obj in self.owned else None
        # Not importable (a name defined in the module, or a typo): judge by the class name,
        # erring towards a report; the exception comment settles a false alarm.
        candidates = self.by_name.get(dotted.rsplit(".", 1)[-1], set())
        return next(iter(candidates)) if len(candidates) == 1 else None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        model = None if self.inside_gate else self.model_of(node.value)
        if model is not None and node.attr in manager_names(model):
            line = node.end_lineno or node.lineno
            self.findings.append(Finding(self.path, line, model, f"{model.__name__}.{node.attr}"))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if self._dotted(func) in self.gate:
            self.visit(func)
            self.inside_gate += 1
            for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
                self.visit(argument)
            self.inside_gate -= 1
            return
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name in LOADERS and node.args:
            model = self.model_of(node.args[0])
            if model is not None:
                self.findings.append(Finding(self.path, node.lineno, model, f"{name}({model.__name__})"))
        self.generic_visit(node)


def _excepted_lines(source: str) -> set[int]:
    """Lines whose comment is `# gate: <reason>` (a real comment token, not text in a string)."""
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and EXCEPTION.search(token.string):
            lines.add(token.start[0])
    return lines


def _module_name(path: Path) -> str:
    base = Path(settings.BASE_DIR).resolve()
    try:
        parts = path.resolve().relative_to(base).with_suffix("").parts
    except ValueError:
        parts = (path.stem,)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def scan(paths: Iterable[Path], owned: set[type[models.Model]] | None = None) -> list[Finding]:
    owned = patient_owned_models() if owned is None else owned
    gate = gate_entry_points()
    findings: set[Finding] = set()
    for path in paths:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
        scanner = _Scanner(path, _module_name(path), owned, gate)
        scanner.collect_imports(tree)
        scanner.visit(tree)
        excepted = _excepted_lines(source)
        findings.update(f for f in scanner.findings if f.line not in excepted)
    return sorted(findings, key=lambda f: (str(f.path), f.line))


class Command(BaseCommand):
    help = ("Fail when a views or API module queries a patient-data model's manager (or 404-loader) "
            "directly instead of loading through mahalo.access.")

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", type=Path,
                            help="Files or app directories to scan (default: every app in the repository).")
        parser.add_argument("--list-models", action="store_true",
                            help="Print the models counted as patient data and exit.")

    def handle(self, *args, paths=(), list_models=False, **options):
        owned = patient_owned_models()
        if list_models:
            for label in sorted(model._meta.label for model in owned):
                self.stdout.write(label)
            return
        files = list(view_modules(paths or app_roots()))
        base = Path(settings.BASE_DIR).resolve()
        findings = scan(files, owned)
        for finding in findings:
            shown = finding.path.resolve()
            path = shown.relative_to(base) if shown.is_relative_to(base) else shown
            self.stdout.write(str(Finding(path, finding.line, finding.model, finding.how)))
        if findings:
            raise CommandError(f"{len(findings)} direct read(s) of patient data in views/API modules "
                               f"({len(files)} modules scanned).")
        self.stdout.write(self.style.SUCCESS(f"The gate holds: {len(files)} views/API modules scanned."))
