from django.core.management.base import BaseCommand

from assessments.services import ensure_builtins
from mahalo.models import Project


class Command(BaseCommand):
    help = "Load the built-in questionnaires (PHQ-9, PHQ-2, GAD-7) into every project that lacks them. Idempotent."

    def handle(self, *args, **options):
        total = sum(ensure_builtins(project) for project in Project.objects.all())
        self.stdout.write(f"Loaded {total} built-in questionnaire(s).")
