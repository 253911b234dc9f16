"""Print a new VAPID key pair for Web Push (put them in the environment)."""

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management.base import BaseCommand


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def generate() -> tuple[str, str]:
    """(private key: raw 32-byte scalar, public key: uncompressed point), base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(private), b64url(public)


class Command(BaseCommand):
    help = "Generate VAPID keys for Web Push: VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY."

    def handle(self, *args, **options):
        private, public = generate()
        self.stdout.write(f"VAPID_PRIVATE_KEY={private}\nVAPID_PUBLIC_KEY={public}\n"
                          "VAPID_SUBJECT=mailto:ops@example.org\n")
