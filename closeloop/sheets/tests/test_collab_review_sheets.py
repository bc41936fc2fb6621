"""跨部门协作任务表 and 任务复盘总结表: read from the collab and review apps. Skipped while an app
is not installed (they are built in parallel); the template answers "not available" then."""

import datetime as dt
import io

from django.utils import timezone
from openpyxl import load_workbook

from closeloop.sheets.exporting import Scope, template_for, write_workbook
from closeloop.sheets.tests.conftest import read_rows
from closeloop.tasks.services import task_transition, task_update
from closeloop.testing.factories import make_task


def test_the_collaboration_sheet_lists_the_issue_log_of_visible_tasks(
    head, member, outsider, sales, marketing
):
    from closeloop.collab.services import issue_raise

    task = make_task(actor=head, department=sales, owner=member, title="老用户召回活动")
    issue_raise(
        actor=member,
        task=task,
        problem="市场部提供的用户数据不完整",
        resolver=head,
        party_departments=[marketing],
        deadline=timezone.now() + dt.timedelta(days=2),
    )

    rows = read_rows(write_workbook(template_for("collaboration"), Scope(user=head, department=sales)).read())

    assert rows[1][:3] == ("任务ID", "任务名称", "问题")
    assert rows[2][:6] == ("T001", "老用户召回活动", "市场部提供的用户数据不完整", "李专员", "市场部", "王总")
    assert isinstance(rows[2][6], dt.datetime)
    hidden = read_rows(
        write_workbook(template_for("collaboration"), Scope(user=outsider, department=sales)).read()
    )
    assert len(hidden) == 2


def test_the_retrospective_sheet_lists_the_lessons_of_visible_tasks(head, member, outsider, sales):
    from closeloop.review.services import CheckIn, retrospective_write, submission_create, submission_review
    from closeloop.tasks.models import Task

    t = make_task(actor=head, department=sales, owner=member, title="月度销售报表")
    t = task_update(actor=member, task=task_transition(actor=member, task=t, to="in_progress"), progress=100)
    sub = submission_create(actor=member, task=Task.objects.get(pk=t.pk), key_results="完成", confirm=True)
    submission_review(
        actor=head, submission=sub, checks=[CheckIn(c.pk, measured="99") for c in sub.checks.all()]
    )
    retrospective_write(
        actor=member, task=t, what_worked="模板复用", to_improve="口径先与财务对齐", tags=["报表"]
    )

    data = write_workbook(template_for("retrospective"), Scope(user=head, department=sales)).read()
    rows = read_rows(data)

    assert rows[2][:3] == ("T001", "月度销售报表", "李专员")
    # 完成时间 (yyyy-mm-dd hh:mm, 16 characters) fits its column, to the second.
    ws = load_workbook(io.BytesIO(data)).active
    assert ws["D3"].number_format == "yyyy-mm-dd hh:mm"
    assert ws.column_dimensions["D"].width >= 17
    done = timezone.localtime(Task.objects.get(pk=t.pk).completed_at).replace(tzinfo=None)
    assert rows[2][3] == done.replace(microsecond=0)
    assert rows[2][4:] == ("模板复用", "口径先与财务对齐", "报表")
    hidden = read_rows(
        write_workbook(template_for("retrospective"), Scope(user=outsider, department=sales)).read()
    )
    assert len(hidden) == 2
