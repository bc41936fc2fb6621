"""Exports that span departments, and importing them back (a tester's report): a marketing
specialist's task list holds 市场部's T001 and 销售部's T001 they help on. The sheets write
SALES-T001 then (README: "SALES-T001 where departments mix"), so the same file imports back
as every row 不变; a row naming another department's task is compared with that task, and
changes to a task the importer may not change are row errors, never a write. File names say
which departments they hold."""

import datetime as dt

import pytest
from django.utils import timezone

from closeloop.sheets.exporting import Scope, template_for, write_workbook
from closeloop.sheets.importing import plan_task_import
from closeloop.sheets.services import ImportRefused, task_import_apply
from closeloop.sheets.tests.conftest import HEADER, read_rows, write_xlsx
from closeloop.tasks.models import Task
from closeloop.tasks.services import task_collaborator_add, task_transition, task_update
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.usefixtures("zh")
LATER = dt.date.today() + dt.timedelta(days=30)


@pytest.fixture
def mixed(head, member, outsider, sales, marketing):
    """市场部's T001 (the outsider's own), 销售部's T001 with subtask T001-1 and a finished
    T002 — the outsider a collaborator on both sales tasks, so their list spans departments."""
    from closeloop.review.services import CheckIn, retrospective_write, submission_create, submission_review

    own = make_task(actor=outsider, department=marketing, owner=outsider, title="新品推介会", due=LATER)
    sale = make_task(actor=head, department=sales, owner=member, title="老用户召回活动", due=LATER)
    sub = make_task(actor=head, department=sales, owner=member, title="名单整理", due=LATER, parent=sale)
    done = make_task(actor=head, department=sales, owner=member, title="月度销售报表", due=LATER)
    done = task_update(
        actor=member, task=task_transition(actor=member, task=done, to="in_progress"), progress=100
    )
    submission = submission_create(
        actor=member, task=Task.objects.get(pk=done.pk), key_results="完成", confirm=True
    )
    submission_review(
        actor=head,
        submission=submission,
        checks=[CheckIn(c.pk, measured="99") for c in submission.checks.all()],
    )
    retrospective_write(actor=member, task=done, what_worked="模板复用", to_improve="口径", tags=["报表"])
    for t in (sale, done):
        task_collaborator_add(actor=head, task=t, user=outsider)
    return own, sale, sub, done


def _export(user, template, query=""):
    response = english_client(user).get(f"/sheets/export/{template}.xlsx{query}")
    assert response.status_code == 200
    return response, b"".join(response.streaming_content)


def test_a_task_list_spanning_departments_names_each_task_with_its_department(outsider, mixed):
    response, data = _export(outsider, "task-list")

    codes = [r[0] for r in read_rows(data)[2:]]
    assert sorted(codes) == ["MKT-T001", "SALES-T001", "SALES-T001-1", "SALES-T002"]
    assert "MKT%2BSALES-" in response["Content-Disposition"]


def test_the_same_unchanged_file_imports_back_as_every_row_unchanged(tmp_path, outsider, marketing, mixed):
    _response, data = _export(outsider, "task-list")
    path = tmp_path / "清单.xlsx"
    path.write_bytes(data)

    plan = plan_task_import(actor=outsider, department=marketing, path=path)

    assert plan.ok, plan.errors()
    assert {r.code: r.action for r in plan.rows} == {
        "MKT-T001": "unchanged",
        "SALES-T001": "unchanged",
        "SALES-T001-1": "unchanged",
        "SALES-T002": "unchanged",
    }
    before = Task.objects.count()
    task_import_apply(actor=outsider, department=marketing, path=path)
    assert Task.objects.count() == before


def test_every_sheet_spanning_departments_prefixes_its_task_ids(outsider, sales, mixed):
    own, sale, _sub, done = mixed
    from closeloop.collab.services import issue_raise

    issue_raise(
        actor=outsider,
        task=sale,
        problem="用户数据不完整",
        resolver=outsider,
        deadline=timezone.now() + dt.timedelta(days=2),
    )
    issue_raise(
        actor=outsider,
        task=own,
        problem="物料未到",
        resolver=outsider,
        deadline=timezone.now() + dt.timedelta(days=2),
    )

    progress = read_rows(_export(outsider, "progress")[1])[2:]
    assert {(r[0], r[2]) for r in progress} >= {("SALES-T001-1", "SALES-T001"), ("MKT-T001", "")}
    collaboration = read_rows(_export(outsider, "collaboration")[1])[2:]
    assert sorted(r[0] for r in collaboration) == ["MKT-T001", "SALES-T001"]
    retrospective = read_rows(_export(outsider, "retrospective")[1])[2:]
    assert [r[0] for r in retrospective] == ["SALES-T002"]
    # One department: the handbook's plain T001, as before.
    one = read_rows(write_workbook(template_for("progress"), Scope(user=outsider, task=sale)).read())[2:]
    assert [r[0] for r in one] == ["T001", "T001-1"]


def test_a_change_to_another_departments_task_the_importer_may_not_change_is_a_row_error(
    tmp_path, outsider, marketing, mixed
):
    _own, sale, _sub, _done = mixed
    path = write_xlsx(
        tmp_path / "改.xlsx",
        [HEADER, ["SALES-T001", "老用户召回活动（改）", "项目型", "中", "李专员", LATER, "", "未开始", ""]],
    )

    plan = plan_task_import(actor=outsider, department=marketing, path=path)

    assert [r.action for r in plan.rows] == ["error"]
    # Compared with 销售部's T001 (the name changed), refused by who may change it.
    assert plan.rows[0].changes["title"] == ("老用户召回活动", "老用户召回活动（改）")
    assert plan.rows[0].errors == ["第2行 任务ID：只有负责人、发起人或部门负责人可以修改 SALES-T001"]
    with pytest.raises(ImportRefused):
        task_import_apply(actor=outsider, department=marketing, path=path)
    assert Task.objects.get(pk=sale.pk).title == "老用户召回活动"


def test_a_prefix_naming_no_visible_task_or_no_department_is_a_row_error_not_a_new_task(
    tmp_path, outsider, head, sales, marketing, mixed
):
    make_task(actor=head, department=sales, title="内部任务", due=LATER)  # SALES-T003, not the outsider's
    path = write_xlsx(
        tmp_path / "x.xlsx",
        [
            HEADER,
            ["SALES-T003", "内部任务", "项目型", "中", "赵市场", LATER, "", "未开始", ""],
            ["NOPE-T001", "别处", "项目型", "中", "赵市场", LATER, "", "未开始", ""],
            ["MKT-T009", "新任务", "项目型", "中", "赵市场", LATER, "", "未开始", ""],
        ],
    )

    plan = plan_task_import(actor=outsider, department=marketing, path=path)

    assert [r.action for r in plan.rows] == ["error", "error", "create"]
    assert "SALES-T003" in plan.rows[0].errors[0] and "市场部" in plan.rows[0].errors[0]
    assert "NOPE" in plan.rows[1].errors[0]
    assert Task.objects.filter(title="别处").count() == 0


def test_the_same_code_of_two_departments_is_two_rows_not_a_duplicate(tmp_path, outsider, marketing, mixed):
    path = write_xlsx(
        tmp_path / "two.xlsx",
        [
            HEADER,
            ["MKT-T001", "新品推介会", "项目型", "中", "赵市场", LATER, "", "未开始", ""],
            ["SALES-T001", "老用户召回活动", "项目型", "中", "李专员", LATER, "", "未开始", ""],
            ["T001", "新品推介会", "项目型", "中", "赵市场", LATER, "", "未开始", ""],
        ],
    )

    plan = plan_task_import(actor=outsider, department=marketing, path=path)

    assert [r.action for r in plan.rows[:2]] == ["unchanged", "unchanged"]
    assert plan.rows[2].action == "error" and "第2行" in plan.rows[2].errors[0]


@pytest.mark.parametrize("template", ["task-list", "progress", "collaboration", "retrospective"])
def test_an_export_without_a_department_filter_is_named_by_its_departments(
    outsider, head, sales, mixed, template
):
    response, _data = _export(outsider, template)
    disposition = response["Content-Disposition"]
    assert "filename*=utf-8''MKT%2BSALES-" in disposition
    assert "''-" not in disposition and 'filename="-' not in disposition

    only_sales, _data = _export(head, template)
    assert "filename*=utf-8''SALES-" in only_sales["Content-Disposition"]


def test_an_empty_export_without_a_filter_is_named_by_the_persons_departments(outsider, marketing):
    response, _data = _export(outsider, "task-list")
    assert "filename*=utf-8''MKT-" in response["Content-Disposition"]


def test_a_capped_export_spanning_departments_still_prefixes_its_ids(outsider, mixed):
    # The benchmark exports the first N tasks by tree order (a sliced queryset): finding the
    # departments of its rows raised "Cannot reorder a query once a slice has been taken".
    capped = Task.objects.visible_to(outsider).order_by("path")[:3]
    data = write_workbook(template_for("task-list"), Scope(user=outsider, queryset=capped)).read()

    codes = [r[0] for r in read_rows(data)[2:]]
    assert codes == ["MKT-T001", "SALES-T001", "SALES-T001-1"]
