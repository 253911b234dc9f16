import pytest

from mahalo import config
from mahalo.models import FeatureFlag, ProgramSetting, ProjectSetting

pytestmark = pytest.mark.django_db


def test_program_value_overrides_project_default(world):
    ProjectSetting.objects.create(project=world.project, key="hrv_drop_pct", value="25")
    ProgramSetting.objects.create(program=world.cardiac, key="hrv_drop_pct", value="20")
    assert config.get_int("hrv_drop_pct", program=world.cardiac) == 20
    assert config.get_int("hrv_drop_pct", program=world.metabolic) == 25
    assert config.get_int("hrv_drop_pct", project=world.other_project, default=30) == 30


def test_typed_reads_and_bad_values_fall_back(world):
    ProjectSetting.objects.create(project=world.project, key="limit", value="12.5")
    ProgramSetting.objects.create(program=world.cardiac, key="limit", value="not a number")
    ProjectSetting.objects.create(project=world.project, key="on", value="Yes")
    assert config.get_float("limit", program=world.cardiac) == 12.5
    assert config.get_bool("on", project=world.project) is True
    assert config.get_bool("missing", project=world.project) is False


def test_feature_flags_are_per_tenant(world):
    FeatureFlag.objects.create(project=world.project, name="food_tracking", enabled=True)
    assert config.flag_enabled(world.project, "food_tracking")
    assert not config.flag_enabled(world.other_project, "food_tracking")
