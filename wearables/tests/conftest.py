import pytest

from wearables.tests.stub import StubServer, point_provider_at


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


@pytest.fixture
def fast_retries(settings):
    # Backoff still happens (and is asserted through the stub's request log); it is just short.
    settings.WEARABLES_BACKOFF_BASE = 0.01
    settings.WEARABLES_MAX_INLINE_WAIT = 5


@pytest.fixture
def provider_stub(stub, settings, fast_retries):
    """`provider_stub("whoop")` -> the stub, with that provider's settings aimed at it."""

    def aim(name):
        point_provider_at(settings, name, stub.url)
        return stub

    return aim
