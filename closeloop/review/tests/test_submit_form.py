"""The submit and review forms as a person meets them: files chosen once are never dropped on
the way (the progress question is asked before posting; a form that comes back keeps the
files), the completion date lies between the task's start and the department's today, the
error box says each problem once with the field's name, the reviewer's verdict of a measured
value stays after a refused post, and the owner resubmitting sees the reviewer's comments."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from closeloop.core.errors import ValidationFailed
from closeloop.orgs.models import User
from closeloop.review.models import Deliverable, Submission
from closeloop.review.services import CheckIn, submission_create, submission_review
from closeloop.review.tests.conftest import fresh
from closeloop.review.tests.test_review import PDF, pdf
from closeloop.tasks.models import Task
from closeloop.tasks.services import task_transition, task_update
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task


def chinese_client(user) -> Client:
    User.objects.filter(pk=user.pk).update(language="zh-hans")
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(user)
    return c


@pytest.fixture
def at_71(head, member, sales):
    """The member's started SALES task at 71 %."""
    t = make_task(actor=head, department=sales, owner=member, title="华东区渠道拓展")
    t = task_transition(actor=member, task=t, to="in_progress")
    return task_update(actor=member, task=t, progress=71)


def _alert(html: str) -> str:
    match = re.search(r'<div class="alert[^"]*" role="alert".*?</div>', html, re.S)
    return match.group(0) if match else ""


def _files(*names):
    return [pdf(n) for n in names]


def _staged_model():
    from closeloop.review.models import StagedUpload  # added with the kept files

    return StagedUpload


# -- 1. files chosen once are never dropped ------------------------------------------------------


def test_the_progress_question_is_asked_on_the_form_before_posting(at_71, member):
    c = english_client(member)
    html = c.get(f"/tasks/{at_71.pk}/submit/").content.decode()
    assert 'name="confirm"' in html and "71 %" in html
    r = c.post(
        f"/tasks/{at_71.pk}/submit/",
        {"key_results": "完成七成", "confirm": "1", "files": _files("a.pdf", "b.pdf", "c.pdf")},
    )
    assert r.status_code == 302
    sub = Submission.objects.get(task=at_71)
    assert sorted(Deliverable.objects.filter(submission=sub).values_list("name", flat=True)) == [
        "a.pdf",
        "b.pdf",
        "c.pdf",
    ]


def test_files_are_kept_when_the_form_comes_back_and_handed_in_on_confirm(at_71, member):
    c = english_client(member)
    url = f"/tasks/{at_71.pk}/submit/"
    r = c.post(url, {"key_results": "完成七成", "files": _files("a.pdf", "b.pdf", "c.pdf")})
    assert r.status_code == 422
    html = r.content.decode()
    kept = re.findall(r'name="staged" value="(\d+)" checked', html)
    assert len(kept) == 3 and all(n in html for n in ("a.pdf", "b.pdf", "c.pdf"))
    assert not Submission.objects.exists()
    # Ticking "yes, submit anyway" with the file input now empty hands the three files in.
    r = c.post(url, {"key_results": "完成七成", "confirm": "1", "staged": kept})
    assert r.status_code == 302
    sub = Submission.objects.get(task=at_71)
    files = list(Deliverable.objects.filter(submission=sub).order_by("name"))
    assert [d.name for d in files] == ["a.pdf", "b.pdf", "c.pdf"]
    download = c.get(f"/deliverables/{files[0].pk}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert not _staged_model().objects.exists()


def test_a_kept_file_unticked_is_left_out_and_one_gone_is_refused(at_71, member, head, sales):
    c = english_client(member)
    url = f"/tasks/{at_71.pk}/submit/"
    html = c.post(url, {"key_results": "完成七成", "files": _files("a.pdf", "b.pdf")}).content.decode()
    a, b = re.findall(r'name="staged" value="(\d+)" checked', html)
    # Gone (cleaned up after a day): refused, saying to choose it again; never left out.
    _staged_model().objects.filter(pk=b).delete()
    r = c.post(url, {"key_results": "完成七成", "confirm": "1", "staged": [a, b]})
    assert r.status_code == 422 and not Submission.objects.exists()
    assert "choose" in _alert(r.content.decode()).lower()
    # Kept for another of my tasks: not this one's.
    other = make_task(actor=head, department=sales, owner=member, title="另一个任务")
    other = task_update(
        actor=member, task=task_transition(actor=member, task=other, to="in_progress"), progress=100
    )
    r = c.post(f"/tasks/{other.pk}/submit/", {"key_results": "完成", "staged": [a]})
    assert r.status_code == 422 and not Submission.objects.exists()
    # Unticked: left out on purpose.
    r = c.post(url, {"key_results": "完成七成", "confirm": "1", "staged": [a]})
    assert r.status_code == 302
    assert list(Deliverable.objects.values_list("name", flat=True)) == ["a.pdf"]


def test_someone_else_cannot_hand_in_my_kept_files(at_71, member, head):
    from closeloop.core.errors import NotAllowed
    from closeloop.review.services import submission_stage_files

    staged = submission_stage_files(actor=member, task=fresh(at_71), files=_files("a.pdf"))
    with pytest.raises(NotAllowed):
        submission_stage_files(actor=head, task=fresh(at_71), files=_files("b.pdf"))
    Task.objects.filter(pk=at_71.pk).update(owner=head)
    with pytest.raises(ValidationFailed) as exc:
        submission_create(
            actor=head, task=fresh(at_71), key_results="完成", confirm=True, staged=[s.pk for s in staged]
        )
    assert "files" in exc.value.fields


def test_kept_files_left_behind_are_deleted_after_a_day(at_71, member, media):
    from closeloop.review import jobs
    from closeloop.review.services import submission_stage_files

    StagedUpload = _staged_model()
    staged = submission_stage_files(actor=member, task=fresh(at_71), files=_files("a.pdf", "b.pdf"))
    assert sum(1 for p in media.rglob("*") if p.is_file()) == 2
    StagedUpload.objects.filter(pk=staged[0].pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    assert jobs.drop_stale_staged_uploads(timezone.now()) == 1
    assert list(StagedUpload.objects.values_list("pk", flat=True)) == [staged[1].pk]
    assert sum(1 for p in media.rglob("*") if p.is_file()) == 1


# -- 2. the completion date -----------------------------------------------------------------------


def test_the_completion_date_lies_between_the_task_s_start_and_the_department_s_today(head, member, sales):
    today = sales.local_today()
    start = today - dt.timedelta(days=10)
    t = make_task(actor=head, department=sales, owner=member, start_date=start)
    t = task_update(actor=member, task=task_transition(actor=member, task=t, to="in_progress"), progress=100)
    for bad in (dt.date(1900, 1, 1), start - dt.timedelta(days=1), today + dt.timedelta(days=1)):
        with pytest.raises(ValidationFailed) as exc:
            submission_create(actor=member, task=fresh(t), key_results="完成", completed_on=bad, confirm=True)
        assert list(exc.value.fields) == ["completed_on"]
    with pytest.raises(ValidationFailed) as exc:
        submission_create(actor=member, task=fresh(t), key_results="完成", completed_on=dt.date(1900, 1, 1))
    assert start.isoformat() in exc.value.message and "completion date" in exc.value.message.lower()
    c = english_client(member)
    html = c.get(f"/tasks/{t.pk}/submit/").content.decode()
    assert f'min="{start.isoformat()}"' in html and f'max="{today.isoformat()}"' in html
    r = c.post(
        f"/api/v1/tasks/{t.pk}/submissions",
        {"key_results": "完成", "confirm": "true", "completed_on": "1900-01-01"},
    )
    assert r.status_code == 422 and "completed_on" in r.json()["fields"]
    assert not Submission.objects.exists()
    done = submission_create(
        actor=member, task=fresh(t), key_results="完成", completed_on=start, confirm=True
    )
    assert done.completed_on == start


def test_today_is_the_department_s_today(head, member, sales):
    """Late evening in Beijing is already tomorrow in Kiritimati (UTC+14): a department there
    may say it finished on its today, which is after Beijing's."""
    sales.time_zone = "Pacific/Kiritimati"
    sales.save(update_fields=["time_zone"])
    t = make_task(actor=head, department=sales, owner=member)
    t = task_update(actor=member, task=task_transition(actor=member, task=t, to="in_progress"), progress=100)
    Task.objects.filter(pk=t.pk).update(created_at=timezone.now() - dt.timedelta(days=30))
    now = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)  # 12:00 UTC
    there = sales.local_today(now)
    assert there > now.date()
    with pytest.raises(ValidationFailed):
        submission_create(
            actor=member,
            task=fresh(t),
            key_results="完成",
            completed_on=there + dt.timedelta(days=1),
            confirm=True,
            now=now,
        )
    sub = submission_create(
        actor=member, task=fresh(t), key_results="完成", completed_on=there, confirm=True, now=now
    )
    assert sub.completed_on == there


# -- 5. the error box -----------------------------------------------------------------------------


def test_each_error_is_said_once_in_the_box(at_71, member):
    c = english_client(member)
    r = c.post(f"/tasks/{at_71.pk}/submit/", {"key_results": "", "confirm": "1"})
    assert r.status_code == 422
    box = _alert(r.content.decode())
    assert box.count("Key results is required.") == 1


def test_an_over_long_text_names_the_field_and_the_limit_in_chinese(at_71, member):
    c = chinese_client(member)
    r = c.post(f"/tasks/{at_71.pk}/submit/", {"key_results": "长" * 5001, "confirm": "1"})
    assert r.status_code == 422
    html = r.content.decode()
    assert "关键成果最多 5000 字" in html and "确保" not in html


def test_the_retrospective_says_the_field_and_its_limit_once(measurable, member, head):
    sub = submission_create(actor=member, task=fresh(measurable), key_results="完成", confirm=True)
    submission_review(
        actor=head,
        submission=sub,
        checks=[CheckIn(c.pk, measured="99", passed=True) for c in sub.checks.all()],
    )
    r = chinese_client(member).post(
        f"/tasks/{measurable.pk}/retrospective/", {"what_worked": "好" * 5001, "to_improve": "口径"}
    )
    assert r.status_code == 422
    box = _alert(r.content.decode())
    assert box.count("做得好的最多 5000 字（现有 5001 字）") == 1 and "未保存任何内容" in box


# -- 4. the reviewer's verdict and the rework comments --------------------------------------------


def test_the_measured_verdict_stays_after_a_refused_post(measurable, member, head):
    sub = submission_create(actor=member, task=fresh(measurable), key_results="完成", confirm=True)
    m, p = sub.checks.order_by("position")
    c = english_client(head)
    r = c.post(f"/tasks/{measurable.pk}/review/", {f"measured-{m.pk}": "90"})  # the plain one unanswered
    assert r.status_code == 422

    def judged(html):
        return html.split(f'<span id="judge-{m.pk}"', 1)[1].split("</div>", 1)[0]

    assert "Below the threshold: fail" in judged(r.content.decode())
    box = _alert(r.content.decode())
    assert "Please correct the marked fields" in box and box.count("Criterion 2: pass or fail?") == 1
    r = c.post(f"/tasks/{measurable.pk}/review/", {f"measured-{m.pk}": "97"})
    assert "Meets the threshold: pass" in judged(r.content.decode())


def test_the_owner_resubmitting_sees_the_reviewer_s_comments(measurable, member, head):
    sub = submission_create(actor=member, task=fresh(measurable), key_results="完成", confirm=True)
    m, p = sub.checks.order_by("position")
    submission_review(
        actor=head,
        submission=sub,
        checks=[CheckIn(m.pk, measured="90", comment="华东区数据缺失"), CheckIn(p.pk, passed=True)],
        comment="补齐后再提交",
    )
    task_transition(actor=member, task=fresh(measurable), to="in_progress")
    html = english_client(member).get(f"/tasks/{measurable.pk}/submit/").content.decode()
    assert "华东区数据缺失" in html and "补齐后再提交" in html and 'id="rework-comments"' in html
