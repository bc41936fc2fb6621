import pytest

from closeloop.tasks.models import Task
from closeloop.tasks.services import CriterionIn, task_transition, task_update
from closeloop.testing.factories import make_task


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def measurable(head, member, sales):
    """A started SALES task of the member, at 100 %, with one measurable and one plain criterion."""
    t = make_task(
        actor=head,
        department=sales,
        owner=member,
        title="月度销售报表",
        criteria=[
            CriterionIn(text="数据准确率达标", metric="数据准确率", comparator=">=", threshold=95, unit="%"),
            CriterionIn(text="按区域拆分"),
        ],
    )
    t = task_transition(actor=member, task=t, to="in_progress")
    return task_update(actor=member, task=t, progress=100)


def fresh(task):
    return Task.objects.select_related("department", "owner", "reviewer").get(pk=task.pk)
