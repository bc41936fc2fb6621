"""`quality_by` (first-pass acceptance for 仪表盘 and 周复盘) reads the submissions' own copy of
their department and submitter through the covering partial (department, reviewed_at,
submitted_by, attempt, verdict) index of accepted attempts: the same figures as main's query
through the task, on random data with rework rounds."""

import datetime as dt
import random

import pytest
from django.db import connection
from django.db.models import Count, Q, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from closeloop.review.models import Submission, Verdict
from closeloop.review.selectors import Quality, quality_by, visible_task_q
from closeloop.review.tests.test_knowledge import accept
from closeloop.tasks.services import task_update
from closeloop.tasks.visibility import forget_visibility, visibility
from closeloop.testing.factories import add_people, add_rounds, make_task


def quality_by_main(user, *, group, since=None, until=None, department_ids=None):
    """main's `quality_by` (f90868e), through the task's department: the reference."""
    field = {"owner": "task__owner_id", "department": "task__department_id"}[group]
    qs = Submission.objects.filter(verdict=Verdict.ACCEPTED)
    whole = department_ids is not None and visibility(user).departments.issuperset(department_ids)
    if not user.is_superuser and not whole:
        qs = qs.filter(visible_task_q(user))
    if department_ids is not None:
        qs = qs.filter(task__department_id__in=list(department_ids))
    if since is not None:
        qs = qs.filter(reviewed_at__gte=since)
    if until is not None:
        qs = qs.filter(reviewed_at__lt=until)
    rows = (
        qs.order_by()
        .values(field)
        .annotate(accepted=Count("id"), first_pass=Count("id", filter=Q(attempt=1)), attempts=Sum("attempt"))
    )
    return {
        row[field]: Quality(
            accepted=row["accepted"], first_pass=row["first_pass"], attempts=row["attempts"] or 0
        )
        for row in rows
    }


@pytest.fixture
def world(head, member, outsider, sales, marketing, admin_user):
    """40 tasks of SALES and MKT with random owners, and 0–4 rounds each at random times in
    the last 60 days: rework rounds then accepted, or still pending, or sent back last. The
    outsider also owns two SALES tasks (seen through the visibility ids, not the department)."""
    rng = random.Random(16)
    mkt_head = add_people(marketing, 1, prefix="mkthead", name="市场主管")[0]
    from closeloop.orgs.models import Membership

    Membership.objects.filter(user=mkt_head).update(role=Membership.Role.MANAGER)
    sales_people = [member, head, *add_people(sales, 3, prefix="s", name="销售")]
    mkt_people = [outsider, *add_people(marketing, 3, prefix="m", name="市场")]
    now = timezone.now()
    for i in range(40):
        in_sales = i % 3 != 0
        dept = sales if in_sales else marketing
        owner = rng.choice(sales_people if in_sales else mkt_people)
        if in_sales and i in (4, 7):
            owner = outsider
        t = make_task(actor=head if in_sales else mkt_head, department=dept, owner=owner, title=f"任务{i}")
        rounds = rng.randint(0, 4)
        if not rounds:
            continue
        verdicts = ["rework"] * (rounds - 1) + [rng.choice(["accepted", "accepted", "pending", "rework"])]
        start = now - dt.timedelta(days=rng.uniform(0, 60))
        times = [start + dt.timedelta(days=2 * n, hours=rng.uniform(0, 20)) for n in range(rounds)]
        add_rounds(t, head, verdicts, times)
    return now


def test_submitting_copies_the_tasks_department(head, member, sales):
    """Through the services: sent back once, then accepted; both rounds carry SALES."""
    t = accept(make_task(actor=head, department=sales, owner=member), member, head, rework_first=True)
    rows = list(Submission.objects.filter(task=t).values_list("attempt", "verdict", "department_id"))
    assert rows == [(1, "rework", sales.pk), (2, "accepted", sales.pk)]


def test_a_task_never_changes_department(head, sales, marketing, task):
    """The copy stays true: a task's department is not editable."""
    from closeloop.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        task_update(actor=head, task=task, department=marketing)


@pytest.mark.parametrize("group", ["owner", "department"])
def test_the_figures_are_mains(world, group, head, member, outsider, admin_user, sales, marketing):
    now = world
    assert Submission.objects.filter(verdict="accepted", attempt__gt=1).exists()
    windows = [
        {},
        {"since": now - dt.timedelta(days=28)},
        {"since": now - dt.timedelta(days=14), "until": now - dt.timedelta(days=7)},
        {"until": now - dt.timedelta(days=20)},
    ]
    scopes = [None, [sales.pk], [marketing.pk], [sales.pk, marketing.pk]]
    compared = 0
    for user in (admin_user, head, member, outsider):
        for window in windows:
            for ids in scopes:
                forget_visibility(user)
                new = quality_by(user, group=group, department_ids=ids, **window)
                old = quality_by_main(user, group=group, department_ids=ids, **window)
                assert new == old, (user.username, window, ids)
                compared += bool(old)
    assert compared > 30


def test_one_query_read_through_the_index(world, head, sales):
    since = world - dt.timedelta(days=28)
    for group in ("owner", "department"):
        visibility(head)
        with CaptureQueriesContext(connection) as ctx:
            quality_by(head, group=group, since=since, department_ids=[sales.pk])
        assert len(ctx.captured_queries) == 1
        sql = ctx.captured_queries[0]["sql"]
        with connection.cursor() as cur:
            if connection.vendor == "sqlite":
                cur.execute("EXPLAIN QUERY PLAN " + sql)
                plan = " | ".join(row[3] for row in cur.fetchall())
                assert (
                    "USING COVERING INDEX submission_dept_accepted_by (department_id=? AND reviewed_at>?)"
                    in plan
                ), plan
                assert "SCAN" not in plan, plan
            else:
                # A test database's few rows are rightly scanned: ask whether the index serves.
                cur.execute("SET LOCAL enable_seqscan = off")
                cur.execute("EXPLAIN " + sql)
                plan = " | ".join(row[0] for row in cur.fetchall())
                cur.execute("SET LOCAL enable_seqscan = on")
                assert "submission_dept_accepted_by" in plan, plan
        # Neither grouping reads a task: the owner is who submitted the accepted attempt.
        assert "tasks_task" not in sql


def test_the_owner_credited_is_who_submitted(head, member, sales):
    """A task handed to someone else while it waits for review: the first-pass acceptance
    counts for who submitted the accepted attempt (the owner when it was submitted), not for
    the new owner who did not do the work."""
    from closeloop.review.services import submission_create, submission_review
    from closeloop.review.tests.test_knowledge import CheckIn, fresh
    from closeloop.tasks.services import task_reassign, task_transition

    other = add_people(sales, 1, prefix="o", name="接手")[0]
    t = make_task(actor=head, department=sales, owner=member)
    t = task_update(actor=member, task=task_transition(actor=member, task=t, to="in_progress"), progress=100)
    sub = submission_create(actor=member, task=fresh(t), key_results="完成", confirm=True)
    task_reassign(actor=head, task=fresh(t), owner=other, reason="调岗")
    submission_review(
        actor=head,
        submission=sub,
        checks=[CheckIn(c.pk, measured="99", comment="") for c in sub.checks.all()],
    )
    assert fresh(t).owner_id == other.pk
    forget_visibility(head)
    by_owner = quality_by(head, group="owner", department_ids=[sales.pk])
    assert by_owner == {member.pk: Quality(accepted=1, first_pass=1, attempts=1)}
