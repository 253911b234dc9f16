"""The layer contract (.importlinter) covers every app: import-linter only sees the packages
named in root_packages, so an app missing there would be silently unchecked."""

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    return parser


def _apps_on_disk() -> set[str]:
    return {p.parent.name for p in ROOT.glob("*/apps.py")}


def _layer_modules() -> set[str]:
    layers = _config()["importlinter:contract:layers"]["layers"]
    return {name.strip("() ") for line in layers.split("\n") for name in re.split(r"[|:]", line) if name.strip()}


def test_every_app_is_a_root_package():
    roots = set(_config()["importlinter"]["root_packages"].split())
    assert _apps_on_disk(), "no app found beside manage.py"
    assert _apps_on_disk() <= roots, f"add to root_packages in .importlinter: {sorted(_apps_on_disk() - roots)}"
    assert roots <= _apps_on_disk(), f"root_packages that are not apps: {sorted(roots - _apps_on_disk())}"


def test_every_app_has_a_layer():
    missing = _apps_on_disk() - _layer_modules()
    assert not missing, f"give these apps a layer in .importlinter: {sorted(missing)}"


def test_design_order_holds():
    """DESIGN.md "Layout": mahalo <- patients <- domain apps <- reports."""
    raw = _config()["importlinter:contract:layers"]["layers"].split("\n")
    layers = [line.strip().strip("()") for line in raw if line.strip()]
    assert layers[-1] == "mahalo" and layers[-2] == "patients"
    assert layers[0] == "reports"
