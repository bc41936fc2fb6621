"""A department's 日常任务清单表 may carry a 验收标准 column (not one of the handbook's nine):
new tasks take their acceptance criteria from it, one per line or per ；. Without it (or with
the cell empty) the task has none and cannot be submitted until they are added on its page."""

import datetime as dt

from closeloop.core.errors import Conflict
from closeloop.sheets.importing import plan_task_import, split_criteria
from closeloop.sheets.services import task_import_apply
from closeloop.sheets.tests.conftest import HEADER, write_xlsx
from closeloop.tasks.models import AcceptanceCriterion, Task
from closeloop.testing.clients import english_client

LATER = (dt.date.today() + dt.timedelta(days=20)).isoformat()


def _rows(criteria_cells):
    rows = [HEADER + ["验收标准"]]
    for i, cell in enumerate(criteria_cells, start=1):
        rows.append(["", f"任务{i}", "项目型", "高", "李娜", LATER, "", "进行中", "", cell])
    return rows


def test_split_criteria_reads_lines_semicolons_and_numbers():
    assert split_criteria("1. 方案符合用户需求\n2、数据准确率≥95%") == ["方案符合用户需求", "数据准确率≥95%"]
    assert split_criteria("①报表按区域拆分；②周五前提交; ") == ["报表按区域拆分", "周五前提交"]
    assert split_criteria(None) == [] and split_criteria("  ") == []


def test_a_criteria_column_fills_the_new_tasks_criteria(tmp_path, head, sales, manager):
    path = write_xlsx(tmp_path / "清单.xlsx", _rows(["1. 方案符合用户需求\n2. 数据准确率≥95%", ""]))
    plan = plan_task_import(actor=head, department=sales, path=path)
    first, second = plan.rows
    assert first.action == "create" and "criteria" in first.changes
    assert any("criteria" in w.lower() or "验收标准" in w for w in second.warnings)

    task_import_apply(actor=head, department=sales, path=path)

    one, two = Task.objects.filter(department=sales).order_by("code")
    assert list(
        AcceptanceCriterion.objects.filter(task=one).order_by("position").values_list("text", flat=True)
    ) == [
        "方案符合用户需求",
        "数据准确率≥95%",
    ]
    assert not AcceptanceCriterion.objects.filter(task=two).exists()


def test_an_imported_task_without_criteria_cannot_be_submitted_by_its_owner(tmp_path, head, sales, manager):
    rows = [HEADER, ["", "渠道拜访", "事务型", "高", "李娜", LATER, "100%", "进行中", ""]]
    task_import_apply(actor=head, department=sales, path=write_xlsx(tmp_path / "清单.xlsx", rows))
    task = Task.objects.select_related("department").get(department=sales)
    assert task.owner == manager and not AcceptanceCriterion.objects.filter(task=task).exists()

    page = english_client(manager).get(f"/tasks/{task.pk}/").content.decode()
    assert 'id="criteria-missing"' in page and 'id="submit-blocked"' in page
    r = english_client(manager).post(f"/tasks/{task.pk}/submit/", {"key_results": "完成", "confirm": "1"})
    assert r.status_code == 409 and Task.objects.get(pk=task.pk).status == "in_progress"

    from closeloop.review.services import submission_create

    try:
        submission_create(actor=manager, task=task, key_results="完成", confirm=True)
    except Conflict as exc:
        assert exc.code == "criteria_missing"
    else:
        raise AssertionError("submitted without criteria")
