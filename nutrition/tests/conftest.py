import pytest

from nutrition.tests.factories import flag, load_fixture_foods


@pytest.fixture
def nw(world):
    """The shared `world`, with food tracking on for its project (off for the other
    tenant) and the SR28 subset loaded."""
    flag(world.project, True)
    flag(world.other_project, False)
    load_fixture_foods()
    return world
