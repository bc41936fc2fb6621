"""The on-time rates of 仪表盘 and 周复盘 are counted by the database (`insights.localday`),
and must give exactly the numbers the row-by-row Python count gave (kept below as the
reference): random completions in zones with and without daylight saving, at local
midnight to the microsecond, across transitions, with reopened, cancelled and moved tasks."""

import copy
import datetime as dt
import random
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from closeloop.insights import selectors
from closeloop.insights.localday import offset_pieces
from closeloop.tasks import completions
from closeloop.tasks.models import Task
from closeloop.tasks.states import Status
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, make_task
from closeloop.tracking import cadence

ZONES = [
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a 30-minute shift
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/St_Johns",  # -3:30
]


# -- the reference: the Python count these replace ----------------------------------------


def reference_rates(user, departments, since):
    rows = (
        Task.objects.visible_in_departments(user, [d.pk for d in departments])
        .filter(status=Status.DONE, completed_at__gte=since)
        .values_list(
            "owner_id",
            "owner__name",
            "owner__username",
            "completed_at",
            "due_date",
            "original_due_date",
            "department_id",
        )
    )
    zones = {d.pk: d.tzinfo for d in departments}
    people = {}
    for owner_id, name, username, completed_at, due, original, department_id in rows:
        day = timezone.localtime(completed_at, zones.get(department_id) or departments[0].tzinfo).date()
        r = people.setdefault(owner_id, [owner_id, name or username, 0, 0, 0])
        r[2] += 1
        r[3] += day <= due
        r[4] += day <= original
    return sorted((tuple(r) for r in people.values()), key=lambda r: r[1])


def reference_trend(base, department, week_start):
    weeks = [week_start - dt.timedelta(days=7 * i) for i in range(selectors.TREND_WEEKS - 1, -1, -1)]
    first, _ = selectors._week_bounds(department, weeks[0])
    _, last = selectors._week_bounds(department, weeks[-1])
    tz = cadence.dept_tz(department)
    tally = {w: [0, 0, 0] for w in weeks}
    rows = base.filter(status=Status.DONE, completed_at__gte=first, completed_at__lt=last).values_list(
        "completed_at", "due_date", "original_due_date"
    )
    for completed_at, due, original in rows:
        day = timezone.localtime(completed_at, tz).date()
        t = tally.get(cadence.week_start(day))
        if t is None:
            continue
        t[0] += 1
        t[1] += day <= due
        t[2] += day <= original
    rates = [
        (w, selectors._rate(tally[w][0], tally[w][1]), selectors._rate(tally[w][0], tally[w][2]))
        for w in weeks
    ]
    return rates, tally[weeks[-1]][0]


def rates_of(people):
    return [(r.user_id, r.name, r.done, r.on_time, r.on_time_original) for r in people]


# -- random data -----------------------------------------------------------------------------

START = dt.date(2026, 9, 1)  # the window spans the autumn transitions of every zone above
DAYS = (timezone.localdate() - START).days + 4


def _moment(rng, tz, day):
    """A moment of the local `day`, often at its edges (to the microsecond)."""
    clock = rng.choice(
        [
            dt.time(0, 0),
            dt.time(23, 59, 59, 999999),
            dt.time(23, 59, 59, 999600),
            dt.time(0, 0, 0, 400),
            dt.time(1, 30),
            dt.time(2, 30),
            dt.time(rng.randrange(24), rng.randrange(60), rng.randrange(60), rng.randrange(1_000_000)),
        ]
    )
    return dt.datetime.combine(day, clock, tzinfo=tz).astimezone(dt.UTC)


def random_history(rng, head, departments, people, n, prefix="R"):
    """`n` tasks in the departments: done (some late, some moved, some reopened and done
    again), cancelled or reopened with their old completion time still set, open."""
    templates = {d.pk: make_task(actor=head, department=d, owner=head, title="模板") for d in departments}
    rows = []
    for i in range(n):
        dept = rng.choice(departments)
        t = copy.copy(templates[dept.pk])
        t.pk = t.id = None
        t.code = f"{prefix}{i}"
        t.owner = rng.choice(people)
        t.start_date = None
        local_day = START + dt.timedelta(days=rng.randrange(DAYS))
        t.completed_at = _moment(rng, dept.tzinfo, local_day)
        t.original_due_date = local_day + dt.timedelta(days=rng.randint(-2, 2))
        # The approved date is the original one, or moved (a delay granted, or pulled in).
        t.due_date = t.original_due_date + dt.timedelta(days=rng.choice([0, 0, 0, 1, 3, -1]))
        t.status = rng.choice([Status.DONE] * 6 + [Status.CANCELLED, Status.IN_PROGRESS, Status.SUBMITTED])
        rows.append(t)
    Task.objects.bulk_create(rows, batch_size=500)
    # Written around the services: the completion tally is recounted, as the demo does.
    completions.rebuild()


@pytest.fixture
def zoned(db, company):
    """A head over six departments, one per zone, with five people each."""
    head = UserFactory(username="zone_head", name="区域总")
    departments, people = [], []
    for i, name in enumerate(ZONES):
        d = DepartmentFactory(code=f"Z{i}", name=f"时区{i}", parent=company, time_zone=name)
        add_member(head, d, "manager")
        d.head = head
        d.save(update_fields=["head"])
        departments.append(d)
        for j in range(5):
            u = UserFactory(username=f"z{i}p{j}", name=f"员工{i}{j}" if j else "")
            add_member(u, d)
            people.append(u)
    return head, departments, people


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_rates_match_the_python_count_on_random_history(zoned, admin_user, seed):
    head, departments, people = zoned
    rng = random.Random(seed)
    random_history(rng, head, departments, people, 900)
    now = timezone.now()
    for since in (
        now - dt.timedelta(days=28),
        dt.datetime(2026, 10, 20, 3, 17, 5, 123456, tzinfo=dt.UTC),  # across the autumn transitions
        dt.datetime(2026, 9, 27, 13, 0, tzinfo=dt.UTC),
    ):
        # The head and the admin see the departments whole (the completion tally); a member
        # of the first sees the others only in part (their own tasks there: counted live).
        for who in (admin_user, head, people[0]):
            for depts in (departments, departments[1:2], departments[3:5]):
                expected = reference_rates(who, depts, since)
                assert rates_of(selectors.on_time_rates(who, depts, since=since)) == expected, (since, who)
                assert sum(r[2] for r in expected) > 0 or who == people[0]
    for d in departments:
        base = Task.objects.visible_in_department(head, d.pk)
        for monday in (dt.date(2026, 11, 2), dt.date(2026, 10, 26), cadence.week_start(d.local_today())):
            assert selectors._trend(head, base, d, monday) == reference_trend(base, d, monday), (
                d.time_zone,
                monday,
            )


@pytest.mark.django_db
def test_completions_stamped_in_the_future_are_counted_too(zoned):
    """Past the window the database's offsets cover, the rows are counted in Python."""
    head, departments, people = zoned
    since = timezone.now() - dt.timedelta(days=28)
    t = make_task(actor=head, department=departments[1], owner=people[6], title="未来")
    Task.objects.filter(pk=t.pk).update(
        status=Status.DONE,
        completed_at=timezone.now() + dt.timedelta(days=200),
        due_date=dt.date(2027, 12, 31),
    )
    completions.rebuild()
    expected = reference_rates(head, departments, since)
    assert expected == [(people[6].pk, people[6].name, 1, 1, 0)]
    assert rates_of(selectors.on_time_rates(head, departments, since=since)) == expected


def test_offsets_change_at_the_zones_transitions_to_the_second():
    ny = zoneinfo.ZoneInfo("America/New_York")
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    end = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert offset_pieces(ny, start, end) == [
        (dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC), -4 * 3600),
        (end, -5 * 3600),
    ]
    assert offset_pieces(zoneinfo.ZoneInfo("Asia/Shanghai"), start, end) == [(end, 8 * 3600)]


@pytest.mark.django_db
def test_a_task_sent_back_for_rework_counts_once_when_accepted(head, member, sales):
    """Through the services: submitted, sent back, submitted again and accepted after its
    due date — one completion, late; cancelled tasks do not count."""
    from closeloop.tasks.services import task_transition

    t = make_task(actor=head, department=sales, owner=member, title="返工", due=timezone.localdate())
    gone = make_task(actor=head, department=sales, owner=member, title="取消")
    task_transition(actor=head, task=gone, to="cancelled", note="不做了")
    Task.objects.filter(pk=t.pk).update(due_date=timezone.localdate() - dt.timedelta(days=1))
    t = Task.objects.get(pk=t.pk)
    since = timezone.now() - dt.timedelta(days=28)
    for step, who in (("in_progress", member), ("submitted", member), ("rework", head)):
        t = task_transition(actor=who, task=t, to=step, note="补充数据")
    assert selectors.on_time_rates(head, [sales], since=since) == []
    for step, who in (("submitted", member), ("done", head)):
        t = task_transition(actor=who, task=t, to=step, note="补充数据")
    [rate] = selectors.on_time_rates(head, [sales], since=since)
    assert (rate.done, rate.on_time, rate.on_time_original) == (1, 0, 1)
    assert rates_of([rate]) == reference_rates(head, [sales], since)


@pytest.mark.django_db
def test_the_pages_query_counts_stay_constant_as_history_doubles(client, zoned):
    """A fixed number of queries, and the completions are never fetched row by row."""
    head, departments, people = zoned
    rng = random.Random(7)
    client.force_login(head)
    counts = []
    for prefix in ("A", "B"):
        random_history(rng, head, departments, people, 300, prefix)
        Task.objects.filter(completed_at__gt=timezone.now()).update(completed_at=timezone.now())
        completions.rebuild()
        for url in ("/dashboard/", f"/weekly-review/?department={departments[0].pk}"):
            client.get(url)
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            counts.append((url, len(ctx.captured_queries)))
            for q in ctx.captured_queries:
                assert '"completed_at" AS "completed_at"' not in q["sql"], q["sql"]
                if 'AS "on_time_original"' in q["sql"]:
                    # Grouped by owner or joined to the people, SQLite walks every done task
                    # each person ever had (the owner index) instead of the window's.
                    assert (
                        '"orgs_user"' not in q["sql"] and 'GROUP BY "tasks_task"."owner_id"' not in q["sql"]
                    )
    assert counts[:2] == counts[2:]
    assert [n for _u, n in counts[:2]] == [DASHBOARD_QUERIES, WEEKLY_REVIEW_QUERIES]


# Two fewer than before the person, their scopes and the unread badge came in one query; one
# fewer since the open and escalated issues are counted together (and, none escalated, not
# listed); one fewer on each since first-pass acceptance decides "sees the departments whole"
# on the memoised scopes, without reading the person's tasks elsewhere; one more since 待我处理
# counts and lists the open issues escalated to me (`collab.selectors.escalated_to`, one
# statement, the count a window over the rows).
DASHBOARD_QUERIES = 22
WEEKLY_REVIEW_QUERIES = 14
