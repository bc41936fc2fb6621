"""The knowledge page and the review page build their drop-downs, cards, criteria and rounds in
Python (review/html.py) for speed: they must write exactly what the templates wrote, and
escape everything a person typed. `old_templates/` holds the two templates as they were; each
test renders them with the context the old views built, beside the page as it is served."""

import re
from pathlib import Path

import pytest
from django.template import engines
from django.utils import timezone
from django.utils.translation import gettext

from closeloop.core import compiled
from closeloop.core.pagination import CappedIdPaginator
from closeloop.orgs.selectors import departments_for
from closeloop.review import selectors, views
from closeloop.review.models import Verdict
from closeloop.review.services import CheckIn, retrospective_write, submission_create, submission_review
from closeloop.review.tests.conftest import fresh
from closeloop.tasks.models import AcceptanceCriterion, Customer, Project, Task, TaskType
from closeloop.tasks.services import (
    CriterionIn,
    customer_get_or_create,
    project_get_or_create,
    task_transition,
    task_update,
)
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task

OLD = Path(__file__).parent / "old_templates"
XSS = '<script>alert("x")</script>'


def _mask(html: str) -> str:
    """The CSRF token masked (a new one each time)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', html)


def _main(html: str) -> str:
    """The page's <main> (the layout around it is not these pages'), the CSRF token masked."""
    return _mask(html[html.index("<main") : html.index("</main>")])


def _old(name: str, context: dict, request) -> str:
    return _main(engines["django"].from_string((OLD / name).read_text()).render(context, request))


# -- the knowledge page ----------------------------------------------------------------------------


@pytest.fixture
def many_lessons(head, member, sales):
    """23 lessons (two pages): Chinese text, a <script> in titles, lessons, tags, a customer and a
    project, long lessons that are truncated, tasks of every type, with and without customer."""
    acme = customer_get_or_create(name=f"华信{XSS}")
    plan = project_get_or_create(name="Q3 <b>大客户</b> & 渠道")
    customer_get_or_create(name="博远集团")
    tasks = []
    for i in range(23):
        tasks.append(
            make_task(
                actor=head,
                department=sales,
                owner=member,
                title=f"月度销售报表{i}" if i % 3 else f"{XSS}跨部门活动 {i} & 'q'",
                task_type=list(TaskType.values)[i % 3],
                customer=acme if i % 2 else None,
                project=plan if i % 4 == 1 else None,
            )
        )
    Task.objects.filter(pk__in=[t.pk for t in tasks]).update(
        status="done", progress=100, completed_at=timezone.now()
    )
    for i, t in enumerate(tasks):
        retrospective_write(
            actor=head,
            task=fresh(t),
            what_worked=("每日站会同步进度" * 40 if i == 4 else f"报表模板复用 {XSS}") if i % 5 else "",
            to_improve=f'提前确认跨部门资源 {i} "口径" <i>财务</i>' + ("，再核对" * 80 if i == 7 else ""),
            tags=["报表", f"<b>{i % 4}</b>", "数据&口径"] if i % 6 else [],
        )
    return tasks


def _old_knowledge_context(request, filters, page_number):
    """What the old view handed the old template: model instances, querysets of the lists."""
    qs = selectors.knowledge(request.user, filters).select_related(
        "task", "task__department", "task__customer", "task__project", "author", "edited_by"
    )
    page = CappedIdPaginator(qs, 20, cap=selectors.KNOWLEDGE_COUNT_CAP).get_page(page_number)
    return {
        "page": page,
        "filters": filters,
        "tags": selectors.tags_in_use(request.user),
        "types": TaskType.choices,
        "customers": Customer.objects.filter(active=True).order_by("name")[:200],
        "projects": Project.objects.filter(active=True).order_by("name")[:200],
        "departments": departments_for(request.user).order_by("code"),
        "filtered": bool(filters.task_type or filters.customer or filters.project or filters.department),
    }


KNOWLEDGE_QUERIES = [
    {},
    {"page": "2"},
    {"page": "99"},
    {"page": "x"},
    {"q": "报表"},
    {"q": "跨部门 资源", "type": "project"},
    {"tag": "报表", "q": "<script>"},
    {"tag": "<b>1</b>"},
    {"customer": "CUSTOMER", "project": "PROJECT", "department": "DEPT", "type": "routine"},
    {"q": "找不到的东西"},
]


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_knowledge_page_is_the_html_the_template_wrote(many_lessons, head, sales, lang, monkeypatch):
    from closeloop.orgs.models import User

    c = english_client(head)
    User.objects.filter(pk=head.pk).update(language=lang)
    acme = Customer.objects.get(name__startswith="华信")
    plan = Project.objects.get(name__startswith="Q3")
    ids = {"CUSTOMER": str(acme.pk), "PROJECT": str(plan.pk), "DEPT": str(sales.pk)}
    for cap, queries in ((selectors.KNOWLEDGE_COUNT_CAP, KNOWLEDGE_QUERIES), (5, [{}, {"page": "2"}])):
        monkeypatch.setattr(selectors, "KNOWLEDGE_COUNT_CAP", cap)
        for params in queries:
            params = {k: ids.get(v, v) for k, v in params.items()}
            response = c.get("/knowledge/", params)
            assert response.status_code == 200
            new = _main(response.content.decode())
            request = response.wsgi_request
            context = _old_knowledge_context(request, response.context["filters"], params.get("page"))
            assert new == _old("knowledge.html", context, request), params
            # Whatever a person wrote is escaped, never markup.
            assert "<script>" not in new and "<b>" not in new and "<i>" not in new
    assert ("More than 5 lessons" if lang == "en" else "5") in new


def test_the_knowledge_page_of_someone_else_s_department_shows_none_of_its_lessons(many_lessons, outsider):
    body = english_client(outsider).get("/knowledge/").content.decode()
    assert "No lessons found." in body and "月度销售报表" not in body and "华信" in body  # the customer list


# -- the review page -----------------------------------------------------------------------------


@pytest.fixture
def three_rounds(head, member, sales):
    """A task with 10 criteria (every third measurable, one with <script>), two attempts sent
    back with comments that carry markup, and a third waiting, with a file and a link."""
    from closeloop.review.tests.test_review import pdf

    criteria = [
        CriterionIn(
            text=f"数据准确率达标{i} {XSS}", metric="数据准确率", comparator=">=", threshold=95, unit="%"
        )
        if i % 3 == 0
        else CriterionIn(text=f"按区域拆分{i} & <i>产品线</i>")
        for i in range(10)
    ]
    t = make_task(actor=head, department=sales, owner=member, title=f"月度销售报表 {XSS}", criteria=criteria)
    t = task_update(actor=member, task=task_transition(actor=member, task=t, to="in_progress"), progress=100)

    def hand_in(n):
        return submission_create(
            actor=member,
            task=fresh(t),
            key_results=f"第{n}次提交 {XSS}\n第二行",
            files=[pdf()],
            links=[f"https://pan.example.com/s/{n}?a=1&b=2" + "x" * 60],
        )

    sub = hand_in(1)
    for n in (2, 3):
        submission_review(
            actor=head,
            submission=sub,
            checks=[
                CheckIn(x.pk, measured="90.50", comment=f"不足 {XSS}")
                if x.metric
                else CheckIn(
                    x.pk, passed=x.position % 2 == 0, comment="" if x.position % 2 == 0 else "<b>补</b>"
                )
                for x in sub.checks.all()
            ],
        )
        sub = hand_in(n)
    return fresh(t)


def _old_review_context(task, request, **extra):
    """The old view's context: the rounds as model instances (`selectors.rounds`)."""
    all_rounds = selectors.rounds(task)
    submission = next(s for s in all_rounds if s.verdict == Verdict.PENDING)
    checks = list(submission.checks.all())
    posted = extra.get("posted") or {}
    errors = extra.pop("field_errors", {})
    rows = [
        {
            "check": c,
            "measured": posted.get(f"measured-{c.pk}", ""),
            # What the comparator said of the posted value (the page keeps the verdict).
            "judged": views.judged(
                {"metric": c.metric, "comparator": c.comparator, "threshold": c.threshold},
                posted.get(f"measured-{c.pk}"),
            ),
            "passed": posted.get(f"passed-{c.pk}", ""),
            "comment": posted.get(f"comment-{c.pk}", ""),
            "errors": [
                m for k, msgs in errors.items() if k.startswith(f"checks.{c.position}.") for m in msgs
            ],
        }
        for c in checks
    ]
    return {
        "rows": rows,
        "task": task,
        "submission": submission,
        "deliverables": list(submission.deliverables.all()),
        "checks": checks,
        "rounds": [s for s in all_rounds if s.pk != submission.pk],
        "error": None,
        "posted": {},
        **extra,
        "box": views.error_box(
            extra.get("error"), gettext("The verdict was not given. Please correct the marked fields.")
        ),
    }


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_review_page_is_the_html_the_template_wrote(three_rounds, head, lang):
    from closeloop.orgs.models import User

    c = english_client(head)
    User.objects.filter(pk=head.pk).update(language=lang)
    response = c.get(f"/tasks/{three_rounds.pk}/review/")
    assert response.status_code == 200
    new = _main(response.content.decode())
    old = _old(
        "review.html",
        _old_review_context(response.context["task"], response.wsgi_request),
        response.wsgi_request,
    )
    assert new == old
    assert "<script>" not in new and "&lt;script&gt;" in new


def test_a_refused_verdict_shows_what_was_posted_as_the_template_did(three_rounds, head):
    from closeloop.core.errors import ValidationFailed

    c = english_client(head)
    pending = next(s for s in selectors.rounds(three_rounds) if s.verdict == Verdict.PENDING)
    checks = list(pending.checks.all())
    form = {"comment": f"总体 {XSS}"}
    for x in checks:
        if x.metric:
            form[f"measured-{x.pk}"] = "九十" if x.position == 1 else f'80" {XSS}'
        elif x.position % 2:
            form[f"passed-{x.pk}"] = "0"  # failed without a comment
        else:
            form[f"passed-{x.pk}"] = "1"
            form[f"comment-{x.pk}"] = f"好 {XSS}"
    response = c.post(f"/tasks/{three_rounds.pk}/review/", form)
    assert response.status_code == 422
    new = _main(response.content.decode())
    assert "field--error" in new and "field-error" in new
    error = response.context["error"]
    assert isinstance(error, ValidationFailed)
    old = _old(
        "review.html",
        _old_review_context(
            response.context["task"],
            response.wsgi_request,
            error=error,
            posted=dict(response.wsgi_request.POST.items()),
            field_errors=error.fields,
        ),
        response.wsgi_request,
    )
    assert new == old
    assert "<script>" not in new
    assert AcceptanceCriterion.objects.filter(task=three_rounds).count() == 10


# -- the knowledge API ---------------------------------------------------------------------------


def test_the_knowledge_api_answers_what_its_schema_wrote(many_lessons, head, monkeypatch):
    """The API writes its page as JSON directly: the same fields, order and values as Ninja
    validating the old answer (model instances through `_retro`) against `KnowledgePage`."""
    import json

    from ninja.responses import NinjaJSONEncoder

    from closeloop.review.api import KnowledgePage, _retro

    c = english_client(head)
    monkeypatch.setattr(selectors, "KNOWLEDGE_COUNT_CAP", 10)
    for params in ({}, {"q": "报表", "limit": 5}, {"offset": 8, "limit": 2}, {"offset": 12}, {"offset": 40}):
        response = c.get("/api/v1/knowledge", params)
        assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
        limit, offset = params.get("limit", 50), params.get("offset", 0)
        qs = selectors.knowledge(head, selectors.KnowledgeFilters(q=params.get("q", ""))).select_related(
            "task", "task__department", "task__customer", "task__project", "author"
        )
        n = qs.count()
        old = KnowledgePage.model_validate(
            {
                "count": min(n, 10),
                "capped": n > 10,
                "limit": limit,
                "offset": offset,
                "items": [_retro(r) for r in qs[offset : offset + limit]],
            }
        ).model_dump()
        expected = json.loads(json.dumps(old, cls=NinjaJSONEncoder), object_pairs_hook=list)
        assert json.loads(response.content, object_pairs_hook=list) == expected, params


# -- the task page's acceptance panel ------------------------------------------------------------


def _old_panel(request, task) -> str:
    """The panel as the old `extensions.task_panel` rendered it: rounds as model instances."""
    from closeloop.review import services
    from closeloop.review.models import Retrospective
    from closeloop.tasks import permissions
    from closeloop.tasks.states import Status

    user = request.user
    rounds = selectors.rounds(task)
    pending = next((s for s in rounds if s.verdict == Verdict.PENDING), None)
    banner = (
        rounds[-1]
        if rounds and task.status == Status.REWORK and rounds[-1].verdict == Verdict.REWORK
        else None
    )
    context = {
        "task": task,
        "rounds": list(reversed(rounds)),
        "banner": banner,
        "pending": pending,
        "may_submit": services.may_submit(user, task),
        "may_review": pending is not None and permissions.can_review(user, task),
        "frozen": bool(rounds) and task.is_open,
        "may_consent": bool(rounds) and task.is_open and permissions.can_review(user, task),
        "retro": Retrospective.objects.select_related("author").filter(task=task).first(),
        "may_write_retro": task.status == Status.DONE and services.may_write_retrospective(user, task),
    }
    return engines["django"].from_string((OLD / "_panel.html").read_text()).render(context, request)


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_acceptance_panel_is_the_html_the_template_wrote(three_rounds, head, member, lang):
    """Three rounds (two sent back), then the rework banner of a fourth sent back, then none."""
    from closeloop.orgs.models import User
    from closeloop.review.extensions import task_panel
    from closeloop.tasks.selectors import access_task

    def same(user, task):
        User.objects.filter(pk=user.pk).update(language=lang)
        c = english_client(user)
        response = c.get(f"/tasks/{task.pk}/")
        assert response.status_code == 200
        request = response.wsgi_request
        task = access_task(request.user, task.pk)
        new = _mask(task_panel(request, task))
        assert new == _mask(_old_panel(request, task))
        assert new[new.index('id="acceptance"') :] in _mask(response.content.decode())
        assert "<script>" not in new
        return new

    same(head, three_rounds)
    same(member, three_rounds)
    pending = next(s for s in selectors.rounds(three_rounds) if s.verdict == Verdict.PENDING)
    submission_review(
        actor=head,
        submission=pending,
        checks=[
            CheckIn(x.pk, measured="99", comment="")
            if x.metric
            else CheckIn(x.pk, passed=False, comment=f"再改 {XSS}")
            for x in pending.checks.all()
        ],
        comment=f"整体 {XSS}",
    )
    assert 'id="rework-banner"' in same(member, fresh(three_rounds))
    fresh_task = make_task(actor=head, department=three_rounds.department, owner=member, title="新任务")
    assert "Not submitted" in same(head, fresh_task) or lang != "en"


def test_the_rounds_checks_are_the_rows_values_gave(three_rounds):
    """review_rounds reads the checks through core.compiled (once per connection and number
    of rounds): the same dicts, in the same order, as the values() query it replaced, on a
    second read too (the kept plan)."""
    from closeloop.review.models import CriterionCheck

    for _ in range(2):
        rounds = selectors.review_rounds(three_rounds)
        ids = [r["id"] for r in rounds]
        old = list(
            CriterionCheck.objects.filter(submission_id__in=ids)
            .order_by("submission_id", "position", "id")
            .values(*selectors._CHECK_FIELDS)
        )
        assert [c for r in rounds for c in r["checks"]] == old
        assert [list(c) for r in rounds for c in r["checks"]] == [list(c) for c in old]  # key order
    assert len(rounds) == 3 and len(old) == 30 and any(c["measured"] is not None for c in old)


def test_the_rounds_attempts_are_the_rows_values_gave(three_rounds):
    """review_rounds reads the attempts, their people and deliverables through
    core.compiled.values (once per connection): the same dicts, keys in the same order and
    values converted as Django's values() gives them (dates aware, decimals, None), on a second
    read too (the kept plan)."""
    from closeloop.review.models import Submission

    want = list(
        Submission.objects.filter(task=three_rounds)
        .order_by("attempt", "deliverables__id")
        .values(*selectors._ROUND_FIELDS, *selectors._DELIVERABLE_KEYS)
    )
    for _ in range(2):
        got = compiled.values(
            "review_rounds.attempts", Submission, selectors._attempts_query, (three_rounds.pk,)
        )
        assert got == want and [list(r) for r in got] == [list(r) for r in want]
        assert [type(v) for r in got for v in r.values()] == [type(v) for r in want for v in r.values()]
    assert len(want) >= 3 and any(r["submitted_at"] is not None for r in want)
    rounds = selectors.review_rounds(three_rounds)
    assert [r["id"] for r in rounds] == sorted({r["id"] for r in want}, key=[r["id"] for r in want].index)


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_panel_s_retrospective_is_the_one_the_orm_read(many_lessons, head, member, outsider, lang):
    """The retrospective, read by a query compiled once per connection (`_retrospective`),
    renders as `Retrospective.objects…first()` did: markup in every field, the author's
    name too; a task without one shows none; someone who must not see the task gets no
    page at all."""
    from closeloop.orgs.models import User
    from closeloop.review.extensions import task_panel
    from closeloop.review.models import Retrospective
    from closeloop.tasks.selectors import access_task

    User.objects.filter(pk=head.pk).update(name=f"王{XSS}&'q'", language=lang)
    User.objects.filter(pk=member.pk).update(language=lang)
    bare = many_lessons[0]
    Retrospective.objects.filter(task=bare).delete()
    for user in (head, member):
        c = english_client(user)
        for task in (many_lessons[3], many_lessons[4], many_lessons[7], bare):
            response = c.get(f"/tasks/{task.pk}/")
            assert response.status_code == 200
            request = response.wsgi_request
            task = access_task(request.user, task.pk)
            new = _mask(task_panel(request, task))
            assert new == _mask(_old_panel(request, task))
            assert "<script>" not in new
            assert ("提前确认跨部门资源" in new) is (task.pk != bare.pk)
    assert english_client(outsider).get(f"/tasks/{many_lessons[3].pk}/").status_code == 404
