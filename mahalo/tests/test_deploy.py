"""`manage.py check --deploy` is clean with the production settings the README lists."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, env):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,  # noqa: S603
                          text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    from cryptography.fernet import Fernet

    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(60),
           "ALLOWED_HOSTS": "portal.example.org",
           "SECURE_SSL_REDIRECT": "true", "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "STATIC_MANIFEST": "true", "STATIC_ROOT": str(tmp_path / "static")}
    assert manage("collectstatic", "--noinput", "-v0", env=env).returncode == 0
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_warns_about_missing_encryption_keys_and_mfa(tmp_path):
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(60),
           "ALLOWED_HOSTS": "portal.example.org",
           "SECURE_SSL_REDIRECT": "true", "FIELD_ENCRYPTION_KEYS": "", "MAHALO_REQUIRE_STAFF_MFA": "false"}
    result = manage("check", "--deploy", env=env)
    assert "mahalo.W001" in result.stderr + result.stdout
    assert "mahalo.W002" in result.stderr + result.stdout
