"""Who last rewrote a retrospective shows beside who wrote it — on the task page, on its
知识库 card and in the API — and 知识库 takes the same queries for it. A tester's finding: the
deputy (李娜) rewrote 张伟's retrospective; the card still read 「张伟 · 2026-12-02」 and the
知识库 entry showed the new text with no author at all."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from closeloop.orgs.services import api_token_create
from closeloop.review.models import Retrospective
from closeloop.review.services import CheckIn, retrospective_write, submission_create, submission_review
from closeloop.review.tests.conftest import fresh

pytestmark = pytest.mark.django_db


def chinese_client(user) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(user)
    return c


def _count(client, url, params=None, **extra) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params or {}, **extra).status_code == 200
    return len(ctx)


@pytest.fixture
def written(measurable, head, member):
    """The member's accepted task with the member's retrospective."""
    sub = submission_create(actor=member, task=fresh(measurable), key_results="完成", confirm=True)
    submission_review(
        actor=head,
        submission=sub,
        checks=[
            CheckIn(c.pk, measured="99") if c.metric else CheckIn(c.pk, passed=True) for c in sub.checks.all()
        ],
    )
    retrospective_write(
        actor=member,
        task=fresh(measurable),
        what_worked="模板复用",
        to_improve="报表口径先对齐",
        tags=["报表"],
    )
    return fresh(measurable)


def test_a_rewrite_by_someone_else_names_both_on_the_page_the_knowledge_base_and_the_api(
    client, written, member, deputy
):
    today = timezone.localdate().isoformat()
    reader = chinese_client(deputy)
    page = reader.get(written.get_absolute_url()).content.decode()
    assert f"李专员 · {today}" in page
    kb_before = _count(reader, "/knowledge/", {"q": "报表"})
    card = reader.get("/knowledge/", {"q": "报表"}).content.decode()
    assert f"李专员 · {today}" in card
    r = reader.post(
        f"/tasks/{written.pk}/retrospective/",
        {
            "what_worked": "模板复用，提前一周排期",
            "to_improve": "报表口径先与财务对齐",
            "tags": "报表",
            "version": 1,
        },
    )
    assert r.status_code == 302
    byline = f"李专员 撰写 · 陈副总 于 {today} 修改"
    page = reader.get(written.get_absolute_url()).content.decode()
    assert byline in page and "提前一周排期" in page
    card = reader.get("/knowledge/", {"q": "报表"}).content.decode()
    assert byline in card and "提前一周排期" in card
    assert _count(reader, "/knowledge/", {"q": "报表"}) == kb_before
    retro = Retrospective.objects.get(task=written)
    assert retro.author == member and retro.edited_by == deputy
    _t, raw = api_token_create(actor=member, name="t")
    h = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    body = client.get(f"/api/v1/tasks/{written.pk}/retrospective", **h).json()
    assert body["author"]["name"] == "李专员" and body["edited_by"]["name"] == "陈副总"
    assert body["edited_at"] is not None
    (item,) = client.get("/api/v1/knowledge", {"q": "报表"}, **h).json()["items"]
    assert item["author"]["name"] == "李专员" and item["edited_by"]["name"] == "陈副总"
    assert item["edited_at"] == body["edited_at"]


def test_an_unedited_retrospective_has_no_editor(client, written, member):
    _t, raw = api_token_create(actor=member, name="t")
    body = client.get(f"/api/v1/tasks/{written.pk}/retrospective", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert body["edited_by"] is None and body["edited_at"] is None
    assert "撰写" not in chinese_client(member).get(written.get_absolute_url()).content.decode()
