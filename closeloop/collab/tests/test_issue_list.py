"""/issues/ (我的协作问题): the issues I raised, resolve, that involve my departments or escalated
to me, read from those I may see, with filters, in a fixed number of queries; linked from
我的工作 and 仪表盘. Escalations to me wait under 待我决定 (我的工作) and 待我处理 (仪表盘), counted
there, as those pages say; 仪表盘's collaboration card says how many are open and how many
escalated."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from closeloop.collab import jobs, services
from closeloop.testing.clients import english_client

pytestmark = pytest.mark.django_db

# Session, the person (with scopes and the bell), their visibility, the page's count and rows.
ISSUE_LIST_QUERIES = 5


def chinese_client(user) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(user)
    return c


def _section(html: str, marker: str) -> str:
    return html.split(marker, 1)[1].split("</section>", 1)[0]


def test_the_raiser_finds_the_issue_on_my_work_and_in_the_list(member, outsider, shared, head):
    services.issue_raise(actor=member, task=shared, problem="需要市场部补数据", resolver=outsider)
    c = chinese_client(member)
    home = c.get("/").content.decode()
    box = _section(home, 'id="my-issues"')
    assert "你提出的" in box and "需要市场部补数据" in box and 'href="/issues/"' in box
    listed = c.get("/issues/")
    assert listed.status_code == 200
    assert "需要市场部补数据" in listed.content.decode()
    assert "需要市场部补数据" in c.get("/issues/", {"show": "raised"}).content.decode()
    assert "需要市场部补数据" not in c.get("/issues/", {"show": "resolve"}).content.decode()
    assert "需要市场部补数据" not in c.get("/issues/", {"state": "closed"}).content.decode()
    # The resolver, under "mine to resolve"; the head, under "involving my departments".
    assert "需要市场部补数据" in chinese_client(outsider).get("/issues/?show=resolve").content.decode()
    assert "需要市场部补数据" in chinese_client(head).get("/issues/?show=departments").content.decode()
    # And under the head's default 与我有关 too: his department's issue (a tester found it empty).
    assert "需要市场部补数据" in chinese_client(head).get("/issues/").content.decode()


def test_a_filter_value_the_list_does_not_know_is_named_and_left_out(member, outsider, shared):
    services.issue_raise(actor=member, task=shared, problem="数据口径", resolver=outsider)
    r = chinese_client(member).get("/issues/", {"show": "<b>everything</b>", "state": "open", "page": "x"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "显示：“&lt;b&gt;everything&lt;/b&gt;”" in html and "数据口径" in html
    assert "<b>everything" not in html


def test_the_list_takes_the_same_queries_for_1_and_30_issues(member, outsider, shared, head):
    def count(n):
        for i in range(n):
            services.issue_raise(actor=member, task=shared, problem=f"问题{i}", resolver=outsider)
        c = english_client(member)
        c.get("/issues/")
        with CaptureQueriesContext(connection) as q:
            page = c.get("/issues/", {"show": "mine"}).content.decode()
        return len(q), page

    few, _page = count(1)
    many, page = count(29)
    assert many == few == ISSUE_LIST_QUERIES
    assert "1–30 of 30 issues" in page and "问题28" in page
    # A head's view of the departments, the same.
    c = english_client(head)
    c.get("/issues/", {"show": "departments"})
    with CaptureQueriesContext(connection) as q:
        c.get("/issues/", {"show": "departments", "state": "all"})
    assert len(q) == ISSUE_LIST_QUERIES


def test_escalations_to_me_count_where_the_pages_say_they_do(member, outsider, shared, head, ceo):
    raised = timezone.now() - dt.timedelta(hours=25)
    services.issue_raise(actor=outsider, task=shared, problem="用户数据不完整", resolver=member, now=raised)
    c = chinese_client(head)
    dash = c.get("/dashboard/").content.decode()
    card = _section(dash, 'id="collab-issues"')
    assert "1 个未解决，0 个已升级" in card and 'href="/issues/?show=departments"' in card
    assert "没有已升级的问题" not in card
    jobs.escalate_issues(timezone.now())
    # 我的工作: 待我决定 lists and counts it (its empty text says escalations appear there).
    home = c.get("/").content.decode()
    decide = _section(home, 'id="group-decide"')
    assert '<span class="count">1</span>' in decide and "用户数据不完整" in decide and "第 1 级" in decide
    assert "问题升级" in decide
    # 仪表盘: 待我处理 counts and lists it; the card says one open, one escalated.
    dash = c.get("/dashboard/").content.decode()
    stat = dash.split('href="#decisions"', 1)[1].split("</a>", 1)[0]
    assert '<div class="stat__num">1</div>' in stat
    assert "用户数据不完整" in _section(dash, 'id="decisions"')
    assert "1 个未解决，1 个已升级" in _section(dash, 'id="collab-issues"')
    # Escalated to the head, not to the specialist who resolves it.
    assert "用户数据不完整" in c.get("/issues/?show=escalated").content.decode()
    assert "用户数据不完整" not in chinese_client(member).get("/issues/?show=escalated").content.decode()
