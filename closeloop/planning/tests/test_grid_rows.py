"""日历 and 工作量 read only what they show (issue 16): a calendar day holds its first four
tasks, its count and whether one is overdue; a member's workload comes back counted by week
from SQL. Their rows are built in Python (`plan_tags.calendar_weeks`, `workload_rows`), the
same HTML as the template loops they replaced, with every text escaped."""

import datetime as dt
import re

import pytest
from django.template import engines
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from closeloop.planning.selectors.calendar import DAY_TASKS, calendar_month
from closeloop.planning.selectors.workload import workload
from closeloop.tasks.models import Task
from closeloop.tasks.templatetags.plan_tags import calendar_weeks, workload_rows
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
XSS = "<script>alert(1)</script>"

# The template loops the tags replaced, as they were on main (a milestone naming its task since;
# a reached one with ✓ and "Reached MM-DD", and "+n more" leading to the day's page, since).
CALENDAR_LOOP = """{% load i18n %}{% for week in weeks %}<div class="cal__row" role="row">
      {% for day in week %}
      <div class="cal__day{% if not day.in_month %} is-out{% endif %}{% if not day.workday %} is-off{% endif %}{% if day.today %} is-today{% endif %}{% if day.tasks or day.milestones %} has-items{% endif %}" role="gridcell">
        <div class="cal__date">{{ day.date.day }}{% if day.overdue %} <span class="dot dot--overdue" title="{% translate 'Overdue' %}"></span>{% endif %}</div>
        <ul class="cal__items">
          {% for m in day.milestones %}<li class="cal__ms{% if m.reached_at %} is-reached{% endif %}"><a href="{% url 'tasks:detail' m.task.pk %}#plan" title="{{ m.task_department.code }}-{{ m.task_code }} {{ m.title }}{% if m.reached_at %} · {% blocktranslate with day=m.reached_at|date:'m-d' %}Reached {{ day }}{% endblocktranslate %}{% endif %}"><span class="cal__ms-name">{% if m.reached_at %}<span class="ms-check" aria-hidden="true">✓</span>{% else %}<span class="diamond"></span>{% endif %}{{ m.title }}{% if m.reached_at %}<span class="visually-hidden"> · {% blocktranslate with day=m.reached_at|date:'m-d' %}Reached {{ day }}{% endblocktranslate %}</span>{% endif %}</span><span class="code cal__ms-task"><span class="nowrap">{{ m.task_department.code }}-</span><wbr><span class="nowrap">{{ m.task_code }}</span></span></a></li>{% endfor %}
          {% for t in day.tasks %}<li class="cal__task st-{{ t.status }}{% if t.late %} is-overdue{% endif %}"><a href="{% url 'tasks:detail' t.pk %}" title="{{ t.department.code }}-{{ t.code }} {{ t.title }}"><span class="code">{{ t.department.code }}-{{ t.code }}</span> <span class="cal__task-name">{{ t.title }}</span></a></li>{% endfor %}
          {% if day.more %}<li class="small cal__more"><a href="{% url 'tasks:calendar_day' day.date.isoformat %}{% if department %}?department={{ department.pk }}{% endif %}" title="{% translate 'Every milestone and task of this day' %}">{% blocktranslate with n=day.more %}+{{ n }} more{% endblocktranslate %}</a></li>{% endif %}
        </ul>
      </div>
      {% endfor %}
    </div>{% endfor %}"""  # noqa: E501

WORKLOAD_LOOP = """{% load i18n %}{% for p in people %}
        <tr class="{% if p.overloaded %}is-overloaded{% endif %}{% if person and person.pk == p.person.pk %} is-selected{% endif %}">
          <th scope="row"><a href="?department={{ current.pk }}&person={{ p.person.pk }}#person">{{ p.person.display_name }}</a>
            {% if p.overloaded %}<span class="badge badge--overload">{% translate "Overloaded" %}</span>{% endif %}</th>
          <td class="num">{{ p.total }}</td>
          <td class="num nowrap"><span class="prio-hi">{{ p.by_priority.1 }}</span> / {{ p.by_priority.2 }} / {{ p.by_priority.3 }}</td>
          <td class="num{% if p.overdue %} due--overdue{% endif %}">{{ p.overdue|default:"·" }}</td>
          {% for w in p.weeks %}<td class="num load{% if w.over %} load--over{% elif w.n %} load--some{% endif %}" title="{% blocktranslate with n=w.n h=w.high %}{{ n }} open, {{ h }} high priority{% endblocktranslate %}">{{ w.n|default:"·" }}{% if w.high %}<sup class="prio-hi" title="{% translate 'high priority' %}">{{ w.high }}</sup>{% endif %}</td>{% endfor %}
          <td class="num">{{ p.later|default:"·" }}</td>
          {% for n in p.extra %}<td class="num workload-extra">{{ n|default:"·" }}</td>{% endfor %}
        </tr>
      {% empty %}<tr><td colspan="12" class="muted">{% translate "No members." %}</td></tr>
      {% endfor %}"""  # noqa: E501


BOARD_CARD_LOOP = (
    "{% for c in cards %}"
    + """{% load i18n closeloop_ui plan_tags %}<li class="board-card{% if c.overdue %} board-card--overdue{% endif %}" id="card-{{ c.pk }}" data-task="{{ c.pk }}" data-version="{{ c.version }}"
    data-moves="{% for m in c.moves %}{{ m.value }} {% endfor %}" draggable="{% if c.moves %}true{% else %}false{% endif %}">
  <div class="board-card__top"><span class="code">{{ c.department.code }}-{{ c.code }}</span>{% priority_badge c.priority c.get_priority_display %}</div>
  <a class="board-card__title" href="{% url 'tasks:detail' c.pk %}" draggable="false">{{ c.title }}</a>
  <div class="board-card__meta small">
    <span class="person"><span class="avatar avatar--sm">{{ c.owner|initials }}</span>{{ c.owner.display_name }}</span>
    <span class="nowrap{% if c.overdue %} due--overdue{% endif %}">{% icon "calendar" %}{{ c.due_date|date:"m-d" }}</span>
    {% if c.respond_by and c.is_open %}{% countdown c.respond_by %}{% endif %}
  </div>
  {% if c.progress %}{% progress_bar c.progress %}{% endif %}
  {% if c.moves %}
  <details class="menu board-card__move">
    <summary class="btn btn--sm btn--ghost">{% translate "Move to" %}{% icon "chevron-down" %}</summary>
    <form method="post" action="{% url 'tasks:transition' c.pk %}" class="menu__panel board-move">{% csrf_token %}<input type="hidden" name="version" value="{{ c.version }}">
      <label class="visually-hidden" for="to-{{ c.pk }}">{% translate "Move to" %}</label>
      <select name="to" id="to-{{ c.pk }}">{% for m in c.moves %}<option value="{{ m.value }}">{{ m.label }}</option>{% endfor %}</select>
      <input type="text" name="note" placeholder="{% translate 'Reason (needed to block, rework or cancel)' %}" aria-label="{% translate 'Reason' %}">
      <button type="submit" class="btn btn--sm btn--primary">{% translate "Move" %}</button>
    </form>
  </details>
  {% endif %}
</li>
"""
    + "{% endfor %}"
)


def _unmasked(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', html)


def _set(task, **fields):
    Task.objects.filter(pk=task.pk).update(**fields)


@pytest.fixture
def busy_month(head, member, sales):
    """Six tasks due on one day (priorities 3, 1, 2, 1, 3, 2), one of them titled with a script;
    an open task overdue earlier in the month and a done one on another past day."""
    day = TODAY + dt.timedelta(days=1)
    tasks = [
        make_task(actor=head, department=sales, owner=member, title=XSS if i == 0 else f"签约{i}", due=day)
        for i in range(6)
    ]
    for t, prio in zip(tasks, (1, 3, 2, 1, 3, 2), strict=True):
        _set(t, priority=prio)
    late = make_task(actor=head, department=sales, owner=member, title="逾期的", due=day)
    _set(late, due_date=TODAY - dt.timedelta(days=1))
    done = make_task(actor=head, department=sales, owner=member, title="已完成的", due=day)
    _set(done, due_date=TODAY - dt.timedelta(days=2), status="done")
    return {"day": day, "tasks": tasks, "late": late, "done": done}


def _cell(user, d):
    """The calendar cell of day `d`, read from its month's grid."""
    month = calendar_month(user, year=d.year, month=d.month)
    return next(cell for week in month["weeks"] for cell in week if cell["date"] == d), month


def test_a_calendar_day_shows_its_most_urgent_tasks_and_counts_the_rest(head, busy_month):
    cell, month = _cell(head, busy_month["day"])
    by_urgency = sorted(busy_month["tasks"], key=lambda t: (Task.objects.get(pk=t.pk).priority, t.pk))
    assert [t.pk for t in cell["tasks"]] == [t.pk for t in by_urgency[:DAY_TASKS]]
    assert cell["more"] == 2 and month["count"] >= 6
    assert not cell["overdue"] and not any(t.late for t in cell["tasks"])
    # Yesterday holds an open task past due: a dot, and the task marked; the day before
    # only a done one: no dot.
    cell, _month = _cell(head, TODAY - dt.timedelta(days=1))
    assert cell["overdue"] and [t.late for t in cell["tasks"]] == [True] and cell["more"] == 0
    cell, _month = _cell(head, TODAY - dt.timedelta(days=2))
    assert not cell["overdue"] and [t.late for t in cell["tasks"]] == [False]


def test_the_calendar_grid_is_the_html_of_the_template_loop_and_escapes_titles(head, busy_month):
    from closeloop.planning.services.decomposition import milestone_add, milestone_update

    day = busy_month["day"]
    # An open milestone and a reached one (named with a script) on the busy day.
    target = busy_month["tasks"][1]
    milestone_add(actor=head, task=target, title="方案评审", date_=day)
    reached = milestone_add(actor=head, task=target, title=XSS, date_=day)
    milestone_update(actor=head, milestone=reached, reached=True)
    client = english_client(head)
    html = client.get(reverse("tasks:calendar"), {"year": day.year, "month": day.month}).content.decode()
    i = html.find(XSS)
    assert i < 0, html[i - 300 : i + 100]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "+2 more" in html
    assert html.count('class="cal__ms is-reached"') == 1 and html.count('class="cal__ms"') == 1
    request = RequestFactory().get("/")
    request.user = head
    for year, month in {(day.year, day.month), (TODAY.year, TODAY.month)}:
        weeks = calendar_month(head, year=year, month=month)["weeks"]
        loop = engines["django"].from_string(CALENDAR_LOOP).render({"weeks": weeks}, request)
        assert calendar_weeks(weeks) == loop
        loop = (
            engines["django"]
            .from_string(CALENDAR_LOOP)
            .render({"weeks": weeks, "department": busy_month["tasks"][0].department}, request)
        )
        assert calendar_weeks(weeks, busy_month["tasks"][0].department) == loop


def test_a_busy_days_more_leads_to_that_days_page(head, member, sales, busy_month):
    """ "+2 more" led to the task list of the day's due tasks, so milestones behind it could
    not be reached: now it leads to the day's own page (and keeps the calendar's department),
    which lists every task of the day, the hidden ones too, and offers the task list."""
    day = busy_month["day"]
    client = english_client(head)
    html = client.get(
        reverse("tasks:calendar"), {"year": day.year, "month": day.month, "department": sales.pk}
    ).content.decode()
    href = f"{reverse('tasks:calendar_day', args=[day.isoformat()])}?department={sales.pk}"
    assert f'<a href="{href}"' in html and "+2 more</a>" in html
    listed = client.get(href).content.decode()
    for t in busy_month["tasks"]:
        assert t.title.replace("<", "&lt;").replace(">", "&gt;") in listed
    assert busy_month["late"].title not in listed  # due another day
    task_list = f"{reverse('tasks:list')}?due={day.isoformat()}&department={sales.pk}"
    assert f'href="{task_list}"' in listed


def test_workload_counts_by_week_and_priority_as_the_table_shows(head, member, sales):
    monday = TODAY - dt.timedelta(days=TODAY.weekday())
    dues = {
        "overdue": TODAY - dt.timedelta(days=3),
        "this week": monday + dt.timedelta(days=6),
        "next week": monday + dt.timedelta(days=7),
        "week 6": monday + dt.timedelta(days=5 * 7 + 2),
        "later": monday + dt.timedelta(days=6 * 7),
    }
    for i, (name, due) in enumerate(dues.items()):
        t = make_task(actor=head, department=sales, owner=member, title=name)
        _set(t, due_date=due, priority=1 if i % 2 == 0 else 3)
    closed = make_task(actor=head, department=sales, owner=member, title="已完成")
    _set(closed, status="done")
    loads = {p.person.pk: p for p in workload(head, department=sales)["people"]}
    m = loads[member.pk]
    # overdue (high) weighs on this week with this week's own task (low).
    assert [w["n"] for w in m.weeks] == [2, 1, 0, 0, 0, 1]
    assert [w["high"] for w in m.weeks] == [1, 1, 0, 0, 0, 0]
    assert (m.overdue, m.later, m.total) == (1, 1, 5)
    assert m.by_priority == {1: 3, 2: 0, 3: 2}


def test_workload_rows_are_the_html_of_the_template_loop_and_escape_names(head, member, sales):
    member.name = XSS
    member.save(update_fields=["name"])
    make_task(actor=head, department=sales, owner=member, title="签约")
    data = workload(head, department=sales)
    for p in data["people"]:
        p.extra = [p.total, 0]
    request = RequestFactory().get("/")
    request.user = head
    for person in (None, member):
        context = {"people": data["people"], "current": sales, "person": person}
        loop = engines["django"].from_string(WORKLOAD_LOOP).render(context, request)
        assert workload_rows(context, data["people"]) == loop
    empty = engines["django"].from_string(WORKLOAD_LOOP).render({"people": []}, request)
    assert workload_rows({}, []) == empty
    html = english_client(head).get(reverse("tasks:workload")).content.decode()
    assert XSS not in html and "&lt;script&gt;" in html


def _history(head, member, sales, n, start=0):
    """`n` finished tasks of the department (done weeks ago, or cancelled), owned by the head
    and the member: history that none of these pages shows."""
    for i in range(start, start + n):
        t = make_task(actor=head, department=sales, owner=member if i % 2 else head, title=f"旧任务{i}")
        _set(
            t,
            status="done" if i % 3 else "cancelled",
            completed_at=timezone.now() - dt.timedelta(days=30 + i),
            due_date=TODAY - dt.timedelta(days=i % 40),
        )


@pytest.mark.parametrize(
    ("url", "most"),
    [
        ("tasks:home", 16),
        ("tasks:list", 14),
        ("tasks:board", 16),
        ("tasks:workload", 16),
        ("tasks:calendar", 16),
    ],
)
def test_the_pages_take_the_same_queries_when_the_history_doubles(url, most, head, member, sales, busy_month):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = english_client(head)
    _history(head, member, sales, 12)
    client.get(reverse(url))  # warm the session, the work calendar
    with CaptureQueriesContext(connection) as before:
        assert client.get(reverse(url)).status_code == 200
    _history(head, member, sales, 12, start=12)
    with CaptureQueriesContext(connection) as after:
        assert client.get(reverse(url)).status_code == 200
    assert len(after.captured_queries) == len(before.captured_queries) <= most


def test_board_cards_are_the_html_of_the_card_template_and_escape_titles(head, member, sales, busy_month):
    from closeloop.planning.selectors.board import board

    _set(busy_month["tasks"][1], status="in_progress", progress=40)
    _set(busy_month["tasks"][2], status="blocked", respond_by=timezone.now() + dt.timedelta(hours=3))
    request = RequestFactory().get("/")
    for who in (head, member):
        request.user = who
        cards = [c for col in board(who, department_id=sales.pk) for c in col.cards]
        assert any(c.moves for c in cards) and any(c.overdue for c in cards)
        loop = engines["django"].from_string(BOARD_CARD_LOOP).render({"cards": cards}, request)
        built = engines["django"].from_string("{% load plan_tags %}{% board_cards cards %}")
        built = built.render({"cards": cards}, request)
        assert built.count('name="csrfmiddlewaretoken"') == loop.count('name="csrfmiddlewaretoken"') > 0
        # Each token is masked afresh.
        assert _unmasked(built) == _unmasked(loop)
    client = english_client(head)
    html = client.get(reverse("tasks:board")).content.decode()
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    more = client.get(
        reverse("tasks:board_more"), {"status": "not_started", "offset": 0}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "board-card" in more and XSS not in more


def test_timeline_names_too_long_for_their_column_end_in_an_ellipsis_with_the_full_name_as_title():
    """SVG text has no text-overflow: 时间线's names are cut in Python by drawn width (CJK
    counted double), once for the desktop's 200 px column and once for a phone's 112 px
    (plan.css shows the one that fits), the full name each text's <title>."""
    from types import SimpleNamespace

    from closeloop.core.text import text_width
    from closeloop.tasks.templatetags.plan_tags import LABEL_FONT, LABEL_PAD, PHONE_NAMES_W, timeline_svg

    def row(pk, label, indent, overdue=False):
        task = SimpleNamespace(
            pk=pk,
            owner=SimpleNamespace(display_name="李专员"),
            start_date=TODAY,
            due_date=TODAY,
            progress=0,
            status="in_progress",
        )
        bar = {"x": 210, "w": 20, "y": pk * 30, "bar_y": pk * 30 + 8, "progress_w": 0}
        return {"task": task, "label": label, "overdue": overdue, "indent": indent, "text_y": pk * 30, **bar}

    rows = [
        row(1, "T001 签约", 8),
        row(2, "T004 跟进B客户签约进度", 8),
        row(3, "T005-1 " + "长" * 30, 18, True),
        row(4, "T006 {0} {x} <b>&", 8),  # braces and markup: escaped, never formatted
    ]
    tl = SimpleNamespace(
        width=400, height=120, label_w=200, rows=[], days=[], ticks=[], milestones=[], arrows=[], today_x=None
    )
    tl.rows = rows
    svg = str(timeline_svg(tl))
    texts = re.findall(
        r'<text class="(tl-label[^"]*)" x="(\d+)"[^>]*><title>([^<]*)</title>([^<]*)</text>', svg
    )
    by_title = {}
    for cls, x, title, shown in texts:
        by_title.setdefault(title, []).append((cls, int(x), shown))
    assert by_title["T001 签约"] == [("tl-label", 8, "T001 签约")]  # fits both: one text
    for title in ("T004 跟进B客户签约进度", "T005-1 " + "长" * 30):
        (wide_cls, x, wide), (narrow_cls, _x, narrow) = by_title[title]
        assert wide_cls.endswith("tl-label--wide") and narrow_cls.endswith("tl-label--narrow")
        assert narrow.endswith("…") and title.startswith(narrow[:-1])
        assert text_width(narrow, LABEL_FONT) <= PHONE_NAMES_W - x - LABEL_PAD
        assert text_width(wide, LABEL_FONT) <= 200 - x - LABEL_PAD
    assert by_title["T004 跟进B客户签约进度"][0][2] == "T004 跟进B客户签约进度"  # whole on a desktop
    assert by_title["T005-1 " + "长" * 30][0][2].endswith("…")
    assert 'class="tl-label is-overdue tl-label--wide"' in svg
    assert by_title["T006 {0} {x} &lt;b&gt;&amp;"][0] == (
        "tl-label tl-label--wide",
        8,
        "T006 {0} {x} &lt;b&gt;&amp;",
    )
