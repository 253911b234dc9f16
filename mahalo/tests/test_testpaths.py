"""Every app's tests run: an app whose tests/ folder is missing from pytest.ini's testpaths would be
silently skipped by `make test` and CI (care's were, for a session)."""

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_tests_folder_is_collected():
    ini = configparser.ConfigParser()
    ini.read(ROOT / "pytest.ini")
    paths = set(ini["pytest"]["testpaths"].split())
    apps = {p.parent.name for p in ROOT.glob("*/tests") if (p / "__init__.py").exists() or any(p.glob("test_*.py"))}
    assert apps - paths == set()
