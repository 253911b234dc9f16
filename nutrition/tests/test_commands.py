"""manage.py ensure_nutrition_rules: programs made before the app get the rules."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from clinical.models import ClinicalRule
from nutrition import services

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("ensure_nutrition_rules", *args, stdout=out)
    return out.getvalue()


def codes(program) -> set[str]:
    return set(ClinicalRule.objects.filter(program=program, code__startswith="nutrition_")
               .values_list("code", flat=True))


def test_old_programs_get_the_rules_once_and_edits_are_kept(nw):
    expected = {r["code"] for r in services.nutrition_rules()}
    ClinicalRule.objects.filter(code__startswith="nutrition_").delete()  # as before the app existed
    assert codes(nw.cardiac) == set()
    dry = run("--dry-run")
    assert "would create 3" in dry and codes(nw.cardiac) == set()
    out = run()
    assert codes(nw.cardiac) == expected and codes(nw.metabolic) == expected
    assert "food tracking off, skipped" in out  # the other tenant's program
    assert codes(nw.other_program) == set()
    rule = ClinicalRule.objects.get(program=nw.cardiac, code="nutrition_fluid_over_limit")
    rule.threshold = 120
    rule.save()
    assert "0 nutrition rules created" in run()
    rule.refresh_from_db()
    assert rule.threshold == 120
    assert ClinicalRule.objects.filter(program=nw.cardiac, code__startswith="nutrition_").count() == 3


def test_one_program_and_bad_ids(nw):
    ClinicalRule.objects.filter(code__startswith="nutrition_").delete()
    run("--program", str(nw.metabolic.pk))
    assert codes(nw.metabolic) and not codes(nw.cardiac)
    with pytest.raises(CommandError, match="Not a program id"):
        run("--program", "nope")
    with pytest.raises(CommandError, match="Unknown program"):
        run("--program", "00000000-0000-0000-0000-000000000000")
