from allauth.mfa.models import Authenticator
from django.core.management.base import BaseCommand
from django.db import transaction

from mahalo import crypto


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS. "
        "Put the new key first, run this, then remove the old key. --generate prints a new key."
    )

    def add_arguments(self, parser):
        parser.add_argument("--generate", action="store_true", help="Print a new key and exit.")

    def handle(self, *args, generate=False, **options):
        if generate:
            self.stdout.write(crypto.generate_key())
            return
        rotated = 0
        with transaction.atomic():
            for auth in Authenticator.objects.select_for_update().filter(type=Authenticator.Type.TOTP):
                auth.data["secret"] = crypto.rotate(auth.data["secret"])
                auth.save(update_fields=["data"])
                rotated += 1
            counts = {label: rotate_rows() for label, rotate_rows in crypto.ROTATORS.items()}
        self.stdout.write(self.style.SUCCESS(
            f"Re-encrypted {rotated} TOTP secret(s)"
            + "".join(f" and {n} {label}" for label, n in counts.items()) + " with the newest key."))
