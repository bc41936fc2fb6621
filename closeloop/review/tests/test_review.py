import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from closeloop.core.errors import Conflict, NotAllowed, ValidationFailed
from closeloop.notify.models import Notification
from closeloop.review.models import Deliverable, Submission, Verdict
from closeloop.review.services import CheckIn, submission_create, submission_review
from closeloop.review.tests.conftest import fresh
from closeloop.tasks.permissions import can_review
from closeloop.tasks.selectors import my_work
from closeloop.tasks.services import CriterionIn, task_transition, task_update
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory, add_member, make_task

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name="报表.pdf", data=PDF):
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def submit(task, member, **kw):
    kw.setdefault("key_results", "完成10个区域的月报")
    kw.setdefault("files", [pdf()])
    return submission_create(actor=member, task=fresh(task), **kw)


def checks_of(sub):
    return list(sub.checks.order_by("position"))


def test_a_submission_numbers_the_attempt_moves_the_task_and_notifies_the_reviewer(measurable, member, head):
    sub = submit(measurable, member)
    assert sub.attempt == 1 and fresh(measurable).status == "submitted"
    assert Deliverable.objects.get(submission=sub).name == "报表.pdf"
    assert Notification.objects.filter(recipient=head, kind="task.submitted").exists()
    assert [c.text for c in checks_of(sub)] == ["数据准确率达标", "按区域拆分"]


def test_the_comparator_decides_a_measurable_criterion(measurable, member, head):
    sub = submit(measurable, member)
    measured, plain = checks_of(sub)
    done = submission_review(
        actor=head,
        submission=sub,
        checks=[CheckIn(measured.pk, measured="97%"), CheckIn(plain.pk, passed=True)],
    )
    assert done.verdict == Verdict.ACCEPTED and fresh(measurable).status == "done"
    assert checks_of(done)[0].passed is True


def test_93_percent_fails_against_95_and_needs_a_comment(measurable, member, head):
    sub = submit(measurable, member)
    measured, plain = checks_of(sub)
    # The reviewer says "passed": the comparator still decides, and a fail needs a comment.
    with pytest.raises(ValidationFailed) as exc:
        submission_review(
            actor=head,
            submission=sub,
            checks=[CheckIn(measured.pk, measured="93", passed=True), CheckIn(plain.pk, passed=True)],
        )
    assert f"checks.{measured.position}.comment" in exc.value.fields
    assert fresh(measurable).status == "submitted"
    with pytest.raises(ValidationFailed) as exc:
        submission_review(
            actor=head,
            submission=sub,
            checks=[CheckIn(measured.pk, measured="九十"), CheckIn(plain.pk, passed=True)],
        )
    assert f"checks.{measured.position}.measured" in exc.value.fields
    back = submission_review(
        actor=head,
        submission=sub,
        checks=[
            CheckIn(measured.pk, measured="93", comment="华东区数据缺失"),
            CheckIn(plain.pk, passed=True),
        ],
    )
    assert back.verdict == Verdict.REWORK and fresh(measurable).status == "rework"
    assert Notification.objects.filter(recipient=member, kind="task.rework").exists()


def test_three_rounds_of_rework_then_acceptance_keep_every_round(measurable, member, head):
    client = english_client(member)
    for n in range(1, 4):
        sub = submit(measurable, member)
        assert sub.attempt == n
        m, p = checks_of(sub)
        submission_review(
            actor=head,
            submission=sub,
            checks=[
                CheckIn(m.pk, measured="90", comment="准确率不足"),
                CheckIn(p.pk, passed=False, comment=f"第{n}轮: 区域不全"),
            ],
        )
        page = client.get(f"/tasks/{measurable.pk}/").content.decode()
        assert f"第{n}轮: 区域不全" in page and 'id="rework-banner"' in page
    sub = submit(measurable, member)
    page = client.get(f"/tasks/{measurable.pk}/").content.decode()
    assert 'id="rework-banner"' not in page  # resubmitted: the banner is gone
    m, p = checks_of(sub)
    submission_review(
        actor=head, submission=sub, checks=[CheckIn(m.pk, measured="99"), CheckIn(p.pk, passed=True)]
    )
    assert fresh(measurable).status == "done"
    assert list(Submission.objects.filter(task=measurable).values_list("attempt", "verdict")) == [
        (1, "rework"),
        (2, "rework"),
        (3, "rework"),
        (4, "accepted"),
    ]
    page = client.get(f"/tasks/{measurable.pk}/").content.decode()
    assert page.count('class="round"') == 4


def test_the_owner_cannot_accept_and_only_the_allowed_reviewer_may(measurable, member, head, outsider, sales):
    sub = submit(measurable, member)
    m, p = checks_of(sub)
    good = [CheckIn(m.pk, measured="99"), CheckIn(p.pk, passed=True)]
    colleague = UserFactory(username="colleague")
    add_member(colleague, sales)
    for who in (member, colleague):
        with pytest.raises(NotAllowed):
            submission_review(actor=who, submission=sub, checks=good)
    # A head's own task goes to the superior, not to the head's own deputy.
    deputy = UserFactory(username="deputy")
    add_member(deputy, sales)
    sales.deputy = deputy
    sales.save(update_fields=["deputy"])
    own = make_task(actor=head, department=sales, owner=head, title="部门年度计划")
    own = task_update(actor=head, task=task_transition(actor=head, task=own, to="in_progress"), progress=100)
    sub2 = submission_create(actor=head, task=fresh(own), key_results="完成", confirm=True)
    with pytest.raises(NotAllowed):
        submission_review(
            actor=deputy, submission=sub2, checks=[CheckIn(c.pk, measured="99") for c in checks_of(sub2)]
        )
    assert fresh(own).status == "submitted"


def _submitted_to(task) -> set[str]:
    return set(
        Notification.objects.filter(kind="task.submitted", data__task=task.pk).values_list(
            "recipient__username", flat=True
        )
    )


def test_a_submission_notifies_only_people_who_can_accept_it(head, member, sales, company):
    """DESIGN.md: nobody accepts their own task; a deputy's goes to the head, a head's to the
    superior (head of the parent department) — never to the head's own deputy."""
    deputy = UserFactory(username="sales_deputy")
    add_member(deputy, sales, "manager")
    sales.deputy = deputy
    sales.save(update_fields=["deputy"])
    boss = UserFactory(username="ceo")
    add_member(boss, company, "manager")
    company.head = boss
    company.save(update_fields=["head"])

    def submitted(owner, **kw):
        t = make_task(actor=head, department=sales, owner=owner, title="部门年度计划", **kw)
        t = task_update(
            actor=owner, task=task_transition(actor=owner, task=t, to="in_progress"), progress=100
        )
        submission_create(actor=owner, task=fresh(t), key_results="完成", confirm=True)
        return fresh(t)

    own = submitted(head)
    assert _submitted_to(own) == {"ceo"}
    assert can_review(boss, own) and not can_review(deputy, own)
    # The deputy's 我的工作 does not offer it for review either; the superior's does.
    assert own.pk not in [t.pk for t in my_work(deputy).to_review]
    assert own.pk in [t.pk for t in my_work(boss).to_review]
    # After rework, the resubmission goes to the same person.
    sub = Submission.objects.get(task=own)
    submission_review(
        actor=boss,
        submission=sub,
        checks=[CheckIn(c.pk, measured="90", comment="偏低") for c in checks_of(sub)],
    )
    submission_create(actor=head, task=fresh(own), key_results="已补充", confirm=True)
    assert Notification.objects.filter(kind="task.submitted", data__task=own.pk, recipient=boss).count() == 2
    assert _submitted_to(own) == {"ceo"}

    assert _submitted_to(submitted(deputy)) == {"sales_head"}
    assert _submitted_to(submitted(member)) == {"sales_head", "sales_deputy"}
    named = UserFactory(username="named_reviewer")
    add_member(named, sales, "supervisor")
    assert _submitted_to(submitted(member, reviewer=named)) == {"named_reviewer"}
    # A department whose head owns the task and has no superior: nobody below an administrator.
    company.head = None
    company.save(update_fields=["head"])
    assert _submitted_to(submitted(head)) == set()


def test_a_leaf_below_100_or_without_deliverable_asks_for_confirmation(head, member, sales):
    t = make_task(actor=head, department=sales, owner=member)
    t = task_transition(actor=member, task=t, to="in_progress")
    with pytest.raises(ValidationFailed) as exc:
        submission_create(actor=member, task=fresh(t), key_results="部分完成", files=[pdf()])
    assert exc.value.code == "confirm_required" and "confirm" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        submission_create(actor=member, task=fresh(t), key_results="", confirm=True)
    assert "key_results" in exc.value.fields
    assert not Submission.objects.exists() and fresh(t).status == "in_progress"
    assert submission_create(actor=member, task=fresh(t), key_results="部分完成", confirm=True).attempt == 1


def test_bad_files_are_refused_by_name_and_nothing_is_stored(measurable, member, media, settings):
    settings.REVIEW_UPLOAD_MAX_BYTES = 1000
    cases = [
        SimpleUploadedFile("大文件.pdf", PDF + b"0" * 2000),
        SimpleUploadedFile("程序.exe", b"MZ\x90\x00"),
        SimpleUploadedFile("伪装.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"),
    ]
    for bad in cases:
        with pytest.raises(ValidationFailed) as exc:
            submission_create(
                actor=member, task=fresh(measurable), key_results="x", files=[pdf("好.pdf"), bad]
            )
        assert "files.2" in exc.value.fields and bad.name in exc.value.message + str(exc.value.fields)
    assert not Submission.objects.exists()
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_a_failed_submission_leaves_no_half_stored_file(measurable, member, media, monkeypatch):
    from closeloop.review import services

    def boom(**kwargs):
        raise Conflict("someone moved first")

    monkeypatch.setattr(services, "task_transition", boom)
    with pytest.raises(Conflict):
        submit(measurable, member)
    assert not Submission.objects.exists()
    assert not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.parametrize(
    "name,data",
    [
        ("报告.html", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
        ("图.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'),
    ],
)
def test_html_and_svg_are_served_as_attachments_to_the_right_people_and_404_to_others(
    measurable, member, head, outsider, name, data
):
    sub = submit(measurable, member, files=[SimpleUploadedFile(name, data)])
    d = Deliverable.objects.get(submission=sub)
    url = f"/deliverables/{d.pk}/download/"
    for who in (member, head):
        r = english_client(who).get(url)
        assert r.status_code == 200
        assert r["Content-Disposition"].startswith("attachment")
        assert r["X-Content-Type-Options"] == "nosniff"
        assert r["Content-Type"] == "application/octet-stream"
        assert b"".join(r.streaming_content) == data
    assert english_client(outsider).get(url).status_code == 404
    assert english_client(outsider).get(f"/deliverables/{d.pk + 999}/download/").status_code == 404


def test_criteria_are_frozen_from_the_first_submission_until_the_reviewer_agrees(measurable, member, head):
    from closeloop.review.services import criteria_change_consent

    sub = submit(measurable, member)
    m, p = checks_of(sub)
    submission_review(
        actor=head,
        submission=sub,
        checks=[CheckIn(m.pk, measured="90", comment="不足"), CheckIn(p.pk, passed=True)],
    )
    new = [CriterionIn(text="数据准确率达标", metric="数据准确率", comparator=">=", threshold=90, unit="%")]
    with pytest.raises(Conflict) as exc:
        task_update(actor=head, task=fresh(measurable), criteria=new)
    assert exc.value.code == "criteria_frozen"
    with pytest.raises(NotAllowed):
        criteria_change_consent(actor=member, task=fresh(measurable), note="降低门槛")
    criteria_change_consent(actor=head, task=fresh(measurable), note="客户同意 90% 即可")
    task_update(actor=head, task=fresh(measurable), criteria=new)
    with pytest.raises(Conflict):  # the consent was used up
        task_update(actor=head, task=fresh(measurable), criteria=[CriterionIn(text="另一个")])


def test_the_generic_transition_no_longer_accepts_in_one_tap(measurable, member, head):
    c = english_client(member)
    r = c.post(f"/tasks/{measurable.pk}/transition/", {"to": "submitted"})
    assert r.status_code == 409 and fresh(measurable).status == "in_progress"
    page = c.get(f"/tasks/{measurable.pk}/").content.decode()
    assert f'href="/tasks/{measurable.pk}/submit/"' in page


def test_the_submit_page_asks_for_confirmation_and_then_submits(head, member, sales):
    t = make_task(actor=head, department=sales, owner=member)
    t = task_transition(actor=member, task=t, to="in_progress")
    c = english_client(member)
    r = c.post(f"/tasks/{t.pk}/submit/", {"key_results": "完成一半", "completed_on": "2026-13-01"})
    assert r.status_code == 422 and "completion date" in r.content.decode()
    r = c.post(f"/tasks/{t.pk}/submit/", {"key_results": "完成一半"})
    assert r.status_code == 422 and 'name="confirm"' in r.content.decode()
    r = c.post(f"/tasks/{t.pk}/submit/", {"key_results": "完成一半", "confirm": "1", "files": [pdf()]})
    assert r.status_code == 302 and fresh(t).status == "submitted"


def test_pages_of_a_task_answer_404_to_someone_who_may_not_see_it(measurable, member, outsider):
    submit(measurable, member)
    c = english_client(outsider)
    for url in (
        f"/tasks/{measurable.pk}/submit/",
        f"/tasks/{measurable.pk}/review/",
        f"/tasks/{measurable.pk}/retrospective/",
    ):
        assert c.get(url).status_code == 404


def test_acceptance_without_a_comment_stores_no_chinese_note_and_old_ones_read_in_english(
    measurable, member, head
):
    """A tester read 验收通过 in the English activity list: acceptance stored "Accepted" in the
    accepter's language as the status change's note. It stores none now; rows written so
    are told in the reader's language."""
    from django.utils import translation

    from closeloop.tasks.models import TaskEvent
    from closeloop.tasks.services import record_event

    sub = submit(measurable, member)
    with translation.override("zh-hans"):  # the accepter reads Chinese
        submission_review(
            actor=head,
            submission=sub,
            checks=[CheckIn(c.pk, passed=True, measured="99") for c in checks_of(sub)],
        )

    done = TaskEvent.objects.get(task=measurable, verb="status_changed", after__status="done")
    assert done.note == ""
    page = english_client(member).get(f"/tasks/{measurable.pk}/").content.decode()
    assert "验收通过" not in page
    # A row an earlier version wrote, in Chinese: the English reader reads it in English.
    record_event(
        task=measurable,
        actor=head,
        verb="status_changed",
        before={"status": "submitted"},
        after={"status": "done"},
        note="验收通过",
    )
    page = english_client(member).get(f"/tasks/{measurable.pk}/").content.decode()
    assert "验收通过" not in page and '<div class="activity__note">Accepted</div>' in page
