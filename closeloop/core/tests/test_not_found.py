"""A selector's or service's NotFound is the web's 404 (core.middleware.NotFoundMiddleware),
whichever app's view it comes from, and never tells "exists but hidden" from "missing"."""

import datetime as dt

import pytest

from closeloop.orgs.services import api_token_create
from closeloop.tracking.services import delay_warning_raise, update_post

pytestmark = pytest.mark.django_db


def test_someone_elses_token_or_warning_or_task_is_a_404_like_a_missing_one(client, member, outsider, task):
    token, _raw = api_token_create(actor=member, name="报表脚本")
    update_post(actor=member, task=task, percent=10)
    warning = delay_warning_raise(
        actor=member,
        task=task,
        reason="resources",
        explanation="人手不足",
        new_due_date=task.due_date + dt.timedelta(days=7),
    )
    client.force_login(outsider)
    for hidden, missing in (
        (f"/profile/tokens/{token.pk}/revoke/", "/profile/tokens/999999/revoke/"),
        (f"/delay-warnings/{warning.pk}/", "/delay-warnings/999999/"),
        (f"/tasks/{task.pk}/updates/", "/tasks/999999/updates/"),
    ):
        method = client.post if "revoke" in hidden else client.get
        assert method(hidden).status_code == method(missing).status_code == 404, hidden
    token.refresh_from_db()
    assert token.revoked_at is None
