"""manage.py ensure_nutrition_rules: give programs made before the nutrition app existed
the nutrition rules new programs get on creation (NutritionConfig.ready connects
`demo.on_program_saved`). Idempotent by rule code; an admin's edits are kept. Programs
whose tenant has food tracking off are skipped (run it again after switching it on)."""

import uuid

from django.core.management.base import BaseCommand, CommandError

from nutrition import services
from patients.models import Program


class Command(BaseCommand):
    help = "Create the missing nutrition rules of existing programs (tenants with food tracking on)."

    def add_arguments(self, parser):
        parser.add_argument("--program", action="append", default=[], metavar="UUID",
                            help="Only this program (repeatable). Default: every active program.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be created; write nothing.")

    def handle(self, *args, program=(), dry_run=False, **options):
        programs = Program.objects.select_related("project").order_by("project__name", "name")
        if program:
            ids = []
            for raw in program:
                try:
                    ids.append(str(uuid.UUID(raw)))
                except ValueError:
                    raise CommandError(f"Not a program id: {raw}") from None
            programs = programs.filter(pk__in=ids)
            missing = set(ids) - {str(p.pk) for p in programs}
            if missing:
                raise CommandError(f"Unknown program: {', '.join(sorted(missing))}")
        else:
            programs = programs.filter(is_active=True)
        total = 0
        for prog in programs:
            if not services.feature_on(prog.project):
                self.stdout.write(f"  {prog.project} / {prog.name}: food tracking off, skipped")
                continue
            if dry_run:
                wanted = services.missing_nutrition_rules(prog)
                self.stdout.write(f"  {prog.project} / {prog.name}: would create {len(wanted)}"
                                  + (f" ({', '.join(wanted)})" if wanted else ""))
                total += len(wanted)
                continue
            created = services.ensure_nutrition_rules(prog)
            total += created
            self.stdout.write(f"  {prog.project} / {prog.name}: {created} created")
        verb = "would be created" if dry_run else "created"
        self.stdout.write(self.style.SUCCESS(f"{total} nutrition rule{'s' if total != 1 else ''} {verb}."))
