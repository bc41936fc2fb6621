"""core.gcfreeze: a served process freezes its objects once, after its n-th request."""

import gc

import pytest
from django.core.signals import request_finished

from closeloop.core import gcfreeze


@pytest.fixture(autouse=True)
def _unfreeze():
    gc.unfreeze()
    yield
    request_finished.disconnect(gcfreeze._finished, dispatch_uid="closeloop.gcfreeze")
    gc.unfreeze()


def test_freezes_once_after_the_nth_request():
    gcfreeze.freeze_after(3)
    for _ in range(2):
        request_finished.send(sender=None)
    assert gc.get_freeze_count() == 0
    request_finished.send(sender=None)
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # the test process's modules, at least
    gc.unfreeze()
    for _ in range(5):  # disconnected: no second freeze
        request_finished.send(sender=None)
    assert gc.get_freeze_count() == 0


def test_zero_never_freezes():
    gcfreeze.freeze_after(0)
    for _ in range(30):
        request_finished.send(sender=None)
    assert gc.get_freeze_count() == 0


def test_a_page_served_through_the_test_client_counts(client):
    gcfreeze.freeze_after(2)
    client.get("/healthz")
    assert gc.get_freeze_count() == 0
    client.get("/healthz")
    assert gc.get_freeze_count() > 0
