"""Create the default clinical rules missing from programs (idempotent by code).

    manage.py ensure_default_rules                 # every active program
    manage.py ensure_default_rules --program <id>  # one program
"""

from django.core.management.base import BaseCommand, CommandError

from clinical.default_rules import ensure_default_rules
from patients.models import Program


class Command(BaseCommand):
    help = "Create each program's missing default clinical rules (never changes existing ones)."

    def add_arguments(self, parser):
        parser.add_argument("--program", help="Only this program (its id).")

    def handle(self, *args, program=None, **options):
        programs = Program.objects.select_related("project").order_by("project__name", "name")
        if program:
            programs = programs.filter(pk=program)
            if not programs.exists():
                raise CommandError(f"No program {program}.")
        else:
            programs = programs.filter(is_active=True)
        total = 0
        for p in programs:
            n = ensure_default_rules(p)
            total += n
            self.stdout.write(f"{p.project.name} / {p.name}: {n} rule(s) created")
        self.stdout.write(self.style.SUCCESS(f"{total} rule(s) created."))
