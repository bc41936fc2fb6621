import pytest
from django.utils import translation

from closeloop.notify.tests.receivers import Receiver


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def receiver2():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(autouse=True)
def _english():
    # Assertions read English messages; the people's own language is set where it matters.
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fast_http(settings):
    settings.NOTIFY_HTTP_TIMEOUT = 1.0
    settings.SITE_URL = "https://closeloop.example.com"
