from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assessments import fhir
from assessments.services import questionnaire_import
from mahalo.models import Project


class Command(BaseCommand):
    help = ("Import a FHIR R4 Questionnaire (JSON) as the next version of its code. Scores come from "
            "ordinalValue / itemWeight; an unsupported construct is refused, naming the item.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--project", help="Project name (default: every project).")

    def handle(self, *args, file, project=None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        if path.stat().st_size > fhir.MAX_BYTES:
            raise CommandError(f"{file} is larger than {fhir.MAX_BYTES // 1024} KB.")
        projects = Project.objects.filter(name=project) if project else Project.objects.all()
        if project and not projects.exists():
            raise CommandError(f"No project named {project!r}.")
        raw = path.read_bytes()
        for target in projects:
            try:
                q = questionnaire_import(project=target, raw=raw)
            except fhir.ImportRefused as exc:
                raise CommandError("Refused:\n  " + "\n  ".join(exc.errors)) from None
            self.stdout.write(f"{target.name}: {q.name} ({q.code}) version {q.version}, "
                              f"{q.questions.count()} items.")
