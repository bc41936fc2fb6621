from closeloop.demo import loader
from closeloop.orgs.models import User
from closeloop.review.models import Retrospective, Submission
from closeloop.review.selectors import similar_lessons
from closeloop.tasks.models import Task


def test_the_demo_has_acceptance_a_rework_round_and_three_retrospectives(db, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path)
    loader.load()
    t007 = Task.objects.get(department__code="SALES", code="T007")
    assert t007.status == "submitted"
    pending = Submission.objects.get(task=t007)
    assert pending.deliverables.filter(kind="file").exists() and pending.checks.exclude(metric="").exists()
    assert list(
        Submission.objects.filter(task__code="T002", task__department__code="SALES").values_list(
            "verdict", flat=True
        )
    ) == ["rework", "accepted"]
    assert Retrospective.objects.count() == 3
    head = User.objects.get(username="sales_head")
    found = similar_lessons(head, title="跨部门新品发布活动", task_type="project")
    assert "提前确认跨部门资源" in found[0].to_improve
