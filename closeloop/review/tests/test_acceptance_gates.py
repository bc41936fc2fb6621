"""What stands between a task and acceptance, said before the owner fills anything in: a
task without acceptance criteria (an imported or ad-hoc one) cannot be submitted (web and
API) and its page says so to those who may add them; a parent with open subtasks shows the
open subtasks instead of the form; the submit page of a task already handed in or accepted
says so with a link back; a retrospective page says "not yours" to someone who may not write
it; resubmitting after 返工 offers the sent-back round's links and files again."""

import pytest
from django.test import Client

from closeloop.orgs.models import User
from closeloop.review.models import Deliverable, Submission
from closeloop.review.services import CheckIn, submission_create, submission_review
from closeloop.review.tests.conftest import fresh
from closeloop.review.tests.test_review import pdf
from closeloop.tasks.models import AcceptanceCriterion, Task
from closeloop.tasks.services import CriterionIn, task_transition, task_update
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task


def chinese_client(user) -> Client:
    User.objects.filter(pk=user.pk).update(language="zh-hans")
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(user)
    return c


def _api(user):
    from closeloop.orgs.services import api_token_create

    _, raw = api_token_create(actor=user, name="t")
    return english_client(user), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def bare(head, member, sales):
    """The member's started SALES task without acceptance criteria (as the import makes one)."""
    t = make_task(
        actor=head, department=sales, owner=member, title="渠道拜访", criteria=[], require_criteria=False
    )
    t = task_transition(actor=member, task=t, to="in_progress")
    return task_update(actor=member, task=t, progress=100)


# -- 1. no criteria, no submission ----------------------------------------------------------------


def test_the_service_refuses_a_task_without_criteria_and_stores_nothing(bare, member):
    with pytest.raises(Exception) as caught:
        submission_create(actor=member, task=fresh(bare), key_results="完成", links=["https://a.example/x"])
    assert caught.value.code == "criteria_missing" and caught.value.status == 409
    assert "验收标准" in caught.value.message and "criteria" in caught.value.fields
    assert not Submission.objects.exists() and fresh(bare).status == "in_progress"


def test_the_api_refuses_it_naming_the_criteria_in_both_languages(bare, member):
    c, auth = _api(member)
    url = f"/api/v1/tasks/{bare.pk}/submissions"
    r = c.post(url, {"key_results": "完成", "confirm": "true"}, **auth)
    assert r.status_code == 409
    assert r.json()["code"] == "criteria_missing" and "criteria" in r.json()["fields"]
    User.objects.filter(pk=member.pk).update(language="zh-hans")
    zh = c.post(url, {"key_results": "完成", "confirm": "true"}, **auth)
    assert zh.status_code == 409 and "验收标准" in zh.json()["message"]
    assert not Submission.objects.exists()


def test_the_submit_page_says_add_criteria_first_with_a_link_for_those_who_may(bare, member, head, sales):
    page = chinese_client(member).get(f"/tasks/{bare.pk}/submit/").content.decode()
    assert "先补充验收标准" in page and 'id="submit-form"' not in page
    assert f'href="/tasks/{bare.pk}/edit/#criteria"' in page  # the owner may add them
    posted = english_client(member).post(f"/tasks/{bare.pk}/submit/", {"key_results": "完成", "confirm": "1"})
    assert posted.status_code == 409 and not Submission.objects.exists()


def test_the_task_page_flags_it_to_owner_and_head_with_the_button_disabled(
    bare, member, head, outsider, sales
):
    owner_page = chinese_client(member).get(f"/tasks/{bare.pk}/").content.decode()
    assert "缺少验收标准" in owner_page and 'id="criteria-missing"' in owner_page
    assert 'id="submit-blocked"' in owner_page and "先补充验收标准" in owner_page
    assert f'href="/tasks/{bare.pk}/submit/"' not in owner_page
    assert "缺少验收标准" in chinese_client(head).get(f"/tasks/{bare.pk}/").content.decode()
    # With a criterion the flag goes and the submit link is back.
    AcceptanceCriterion.objects.create(task=bare, position=1, text="拜访纪要经负责人确认")
    again = chinese_client(member).get(f"/tasks/{bare.pk}/").content.decode()
    assert "缺少验收标准" not in again and f'href="/tasks/{bare.pk}/submit/"' in again


def test_someone_who_may_not_edit_sees_no_flag(bare, head, sales):
    from closeloop.testing.factories import UserFactory, add_member

    colleague = UserFactory(username="colleague", name="同事")
    add_member(colleague, sales)  # sees department tasks, may not edit this one
    page = english_client(colleague).get(f"/tasks/{bare.pk}/")
    assert page.status_code == 200 and 'id="criteria-missing"' not in page.content.decode()
    # Nor may they submit it: the page says why, with the way back.
    submit = english_client(colleague).get(f"/tasks/{bare.pk}/submit/")
    html = submit.content.decode()
    assert submit.status_code == 200 and "Only the owner" in html and f'href="/tasks/{bare.pk}/"' in html
    assert 'id="submit-form"' not in html


# -- 2. open subtasks said up front ---------------------------------------------------------------


def test_a_parent_with_open_subtasks_shows_them_instead_of_the_form(head, member, sales):
    parent = make_task(actor=head, department=sales, owner=member, title="老用户召回")
    parent = task_transition(actor=member, task=parent, to="in_progress")
    sub = make_task(actor=head, department=sales, owner=head, title="用户画像分析", parent=fresh(parent))
    page = english_client(member).get(f"/tasks/{parent.pk}/submit/").content.decode()
    assert 'id="open-subtasks"' in page and sub.full_code in page and 'id="submit-form"' not in page
    task_page = english_client(member).get(f"/tasks/{parent.pk}/").content.decode()
    assert 'id="submit-blocked"' in task_page and sub.full_code in task_page
    api, auth = _api(member)
    r = api.post(f"/api/v1/tasks/{parent.pk}/submissions", {"key_results": "完成", "confirm": "true"}, **auth)
    assert (
        r.status_code == 409 and r.json()["code"] == "subtask_open" and sub.full_code in r.json()["message"]
    )


# -- 3. Back after submitting --------------------------------------------------------------------


def test_the_submit_page_of_a_submitted_or_accepted_task_says_so_with_a_link(measurable, member, head):
    submission_create(actor=member, task=fresh(measurable), key_results="完成", confirm=True)
    page = chinese_client(member).get(f"/tasks/{measurable.pk}/submit/").content.decode()
    assert "已提交，等待验收" in page and f'href="/tasks/{measurable.pk}/"' in page
    assert "只有负责人可以" not in page and 'id="submit-form"' not in page
    # The reviewer arriving there gets the way to the review too.
    assert (
        f"/tasks/{measurable.pk}/review/"
        in english_client(head).get(f"/tasks/{measurable.pk}/submit/").content.decode()
    )
    sub = Submission.objects.get(task=measurable)
    m, p = sub.checks.order_by("position")
    submission_review(
        actor=head, submission=sub, checks=[CheckIn(m.pk, measured="97"), CheckIn(p.pk, passed=True)]
    )
    done = chinese_client(member).get(f"/tasks/{measurable.pk}/submit/").content.decode()
    assert "验收通过" in done and f'href="/tasks/{measurable.pk}/"' in done
    again = english_client(member).post(
        f"/tasks/{measurable.pk}/submit/", {"key_results": "x", "confirm": "1"}
    )
    assert again.status_code == 409 and Submission.objects.count() == 1


# -- 4. the retrospective page of someone else's task ---------------------------------------------


def test_the_retrospective_page_says_not_allowed_to_someone_who_may_not_write_it(
    measurable, member, head, sales
):
    from closeloop.testing.factories import UserFactory, add_member

    sub = submission_create(actor=member, task=fresh(measurable), key_results="完成", confirm=True)
    m, p = sub.checks.order_by("position")
    submission_review(
        actor=head, submission=sub, checks=[CheckIn(m.pk, measured="97"), CheckIn(p.pk, passed=True)]
    )
    colleague = UserFactory(username="colleague", name="同事")
    add_member(colleague, sales)
    r = english_client(colleague).get(f"/tasks/{measurable.pk}/retrospective/")
    html = r.content.decode()
    assert r.status_code == 200 and "Only the owner, the initiator, the head or the reviewer" in html
    assert "Written after the task is accepted" not in html and 'name="what_worked"' not in html
    assert (
        english_client(colleague)
        .post(f"/tasks/{measurable.pk}/retrospective/", {"what_worked": "x"})
        .status_code
        == 403
    )
    # The owner is offered the form.
    assert (
        'name="what_worked"'
        in english_client(member).get(f"/tasks/{measurable.pk}/retrospective/").content.decode()
    )


# -- 5. resubmitting after 返工 ---------------------------------------------------------------------


def test_resubmitting_after_rework_offers_the_last_rounds_links_and_files(measurable, member, head, outsider):
    first = submission_create(
        actor=member,
        task=fresh(measurable),
        key_results="第一版",
        links=["https://docs.example/report-v1"],
        files=[pdf("报表.pdf")],
    )
    m, p = first.checks.order_by("position")
    submission_review(
        actor=head,
        submission=first,
        checks=[CheckIn(m.pk, measured="93", comment="准确率不够"), CheckIn(p.pk, passed=True)],
    )
    t = task_transition(actor=member, task=fresh(measurable), to="in_progress")
    old_file = Deliverable.objects.get(submission=first, kind="file")
    c = english_client(member)
    page = c.get(f"/tasks/{t.pk}/submit/").content.decode()
    assert 'value="https://docs.example/report-v1"' in page
    assert f'name="carry" value="{old_file.pk}" checked' in page and "报表.pdf" in page

    r = c.post(
        f"/tasks/{t.pk}/submit/",
        {"key_results": "第二版", "links": ["https://docs.example/report-v1"], "carry": [str(old_file.pk)]},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    second = Submission.objects.get(task=t, attempt=2)
    kept = Deliverable.objects.get(submission=second, kind="file")
    assert (kept.name, kept.file.name) == ("报表.pdf", old_file.file.name)
    assert Deliverable.objects.filter(submission=second, kind="link").count() == 1


def test_a_file_of_another_task_cannot_be_carried_over(measurable, member, head, sales):
    other = make_task(actor=head, department=sales, owner=member, title="别的任务")
    other = task_update(
        actor=member, task=task_transition(actor=member, task=other, to="in_progress"), progress=100
    )
    theirs = submission_create(actor=member, task=fresh(other), key_results="完成", files=[pdf("别的.pdf")])
    foreign = Deliverable.objects.get(submission=theirs, kind="file")
    with pytest.raises(Exception) as caught:
        submission_create(
            actor=member, task=fresh(measurable), key_results="完成", carry=[foreign.pk], confirm=True
        )
    assert "files" in caught.value.fields
    assert not Submission.objects.filter(task=measurable).exists()
    assert Task.objects.get(pk=measurable.pk).status == "in_progress"


def test_a_subtask_with_criteria_is_still_submitted(head, member, sales):
    parent = make_task(actor=head, department=sales, owner=head, title="老用户召回")
    sub = make_task(
        actor=head,
        department=sales,
        owner=member,
        title="用户画像分析",
        parent=fresh(parent),
        criteria=[CriterionIn(text="画像经负责人确认")],
    )
    sub = task_update(
        actor=member, task=task_transition(actor=member, task=fresh(sub), to="in_progress"), progress=100
    )
    submission_create(actor=member, task=fresh(sub), key_results="完成", confirm=True)
    assert fresh(sub).status == "submitted"


def test_a_task_sent_back_before_criteria_were_required_may_get_its_first_ones(bare, member, head):
    """A submission made before the rule (no criteria snapshot): nothing is frozen, so the
    owner may add the first criteria without the reviewer's consent; changing them later
    needs it again."""
    from django.utils import timezone

    from closeloop.core.errors import Conflict
    from closeloop.tasks.services import task_update

    Submission.objects.create(
        task=bare,
        department_id=bare.department_id,
        attempt=1,
        submitted_by=member,
        submitted_at=timezone.now(),
        key_results="旧提交",
        completed_on=timezone.localdate(),
    )
    t = task_update(actor=member, task=fresh(bare), criteria=[CriterionIn(text="拜访纪要经负责人确认")])
    assert AcceptanceCriterion.objects.filter(task=t).count() == 1
    with pytest.raises(Conflict):
        task_update(actor=member, task=fresh(bare), criteria=[CriterionIn(text="改过的标准")])


def test_junk_carry_values_are_ignored_not_a_500(measurable, member):
    r = english_client(member).post(
        f"/tasks/{measurable.pk}/submit/",
        {"key_results": "完成", "confirm": "1", "carry": ["²", "abc", "99999999999"]},
    )
    assert r.status_code == 302 and Submission.objects.filter(task=measurable).count() == 1


def test_carrying_a_file_id_that_is_not_the_tasks_is_refused_on_the_form(measurable, member):
    r = english_client(member).post(
        f"/tasks/{measurable.pk}/submit/", {"key_results": "完成", "confirm": "1", "carry": ["424242"]}
    )
    assert r.status_code == 422 and "not one of this task" in r.content.decode()
    assert not Submission.objects.filter(task=measurable).exists()
