"""Who sees what (DESIGN.md): the authorization is the query."""

import pytest

from closeloop.core.errors import NotFound
from closeloop.orgs.models import Membership
from closeloop.tasks import services, visibility
from closeloop.tasks.models import Task
from closeloop.tasks.selectors import access_task, my_work
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, make_task


def visible(user):
    return set(Task.objects.visible_to(user).values_list("title", flat=True))


def test_members_see_their_department_and_outsiders_do_not(task, head, member, outsider):
    assert "老用户召回活动" in visible(member)
    assert "老用户召回活动" in visible(head)
    assert visible(outsider) == set()
    with pytest.raises(NotFound):
        access_task(outsider, task.pk)


def test_heads_see_child_departments_but_members_do_not(company, sales, head, member):
    east = DepartmentFactory(code="EAST", name="华东销售组", parent=sales)
    east_rep = UserFactory(username="east_rep")
    add_member(east_rep, east)
    make_task(actor=east_rep, department=east, title="华东区客户拜访")
    assert "华东区客户拜访" in visible(head)
    assert "华东区客户拜访" not in visible(member)


def test_a_deputy_sees_what_the_head_sees(sales, member, company):
    deputy = UserFactory(username="deputy")
    sales.deputy = deputy
    sales.save(update_fields=["deputy"])
    make_task(actor=member, department=sales, title="月度销售报表")
    assert "月度销售报表" in visible(deputy)


@pytest.mark.parametrize("inline_ids", [2000, 0])  # 0: the subtree stays a path range
def test_a_collaborator_from_another_department_sees_only_that_task_and_its_subtasks(
    task, head, member, outsider, sales, monkeypatch, inline_ids
):

    monkeypatch.setattr(visibility, "SUBTREE_INLINE_IDS", inline_ids)
    make_task(actor=head, department=sales, title="不相关的销售任务")
    services.task_collaborator_add(actor=member, task=task, user=outsider)
    sub = make_task(
        actor=member, department=sales, parent=Task.objects.get(pk=task.pk), title="用户画像分析", criteria=[]
    )
    make_task(actor=member, department=sales, parent=sub, title="画像数据清洗", criteria=[])
    outsider = type(outsider).objects.get(pk=outsider.pk)  # no memo from the writes above
    assert visible(outsider) == {"老用户召回活动", "用户画像分析", "画像数据清洗"}
    assert set(
        Task.objects.visible_to(outsider).filter(priority=task.priority).values_list("title", flat=True)
    ) == {
        "老用户召回活动",
        "用户画像分析",
        "画像数据清洗",
    } & set(Task.objects.filter(priority=task.priority).values_list("title", flat=True))
    assert access_task(outsider, sub.pk).pk == sub.pk


def test_owner_of_a_subtask_sees_the_tasks_above_it_but_not_siblings(task, head, member, outsider, sales):
    parent = Task.objects.get(pk=task.pk)
    sub = make_task(actor=member, department=sales, parent=parent, title="召回策略制定", criteria=[])
    make_task(
        actor=member, department=sales, parent=sub, title="活动页面原型设计", owner=outsider, criteria=[]
    )
    make_task(actor=member, department=sales, parent=parent, title="文案撰写", criteria=[])
    assert visible(outsider) == {"老用户召回活动", "召回策略制定", "活动页面原型设计"}


def test_a_named_reviewer_sees_the_task(head, member, sales, outsider):
    # Named before the reviewer rule (a lead or manager of the department) existed: such rows stay.
    t = make_task(actor=head, department=sales, owner=member, title="需要外部验收")
    Task.objects.filter(pk=t.pk).update(reviewer=outsider)
    assert visible(outsider) == {"需要外部验收"}


def test_admins_see_everything(task, admin_user):
    assert "老用户召回活动" in visible(admin_user)


def test_my_work_groups_by_urgency(head, member, sales):
    import datetime as dt

    today = dt.date(2026, 11, 25)  # a Wednesday
    for title, offset in [("逾期任务", -1), ("今天到期", 0), ("本周到期", 2), ("以后再说", 9)]:
        make_task(
            actor=head, department=sales, owner=member, title=title, due=today + dt.timedelta(days=offset)
        )
    work = my_work(member, today=today)
    assert [t.title for t in work.overdue] == ["逾期任务"]
    assert [t.title for t in work.today] == ["今天到期"]
    assert [t.title for t in work.this_week] == ["本周到期"]
    assert [t.title for t in work.later] == ["以后再说"]
    assert my_work(head, today=today).total == 0


def test_my_work_holds_the_open_tasks_i_help_on(head, member, outsider, sales):
    import datetime as dt

    today = dt.date(2026, 11, 25)
    helping = []
    for title in ("协助A", "协助B", "已取消的协助"):
        t = make_task(actor=head, department=sales, owner=member, title=title, due=today)
        services.task_collaborator_add(actor=member, task=t, user=outsider)
        helping.append(t)
    services.task_transition(
        actor=head, task=Task.objects.get(pk=helping[2].pk), to="cancelled", note="不做了"
    )
    work = my_work(outsider, today=today)
    assert sorted(t.title for t in work.today) == ["协助A", "协助B"]
    assert work.total == 2


def test_my_work_shows_the_most_urgent_rows_of_a_big_group_and_counts_them_all(head, member, sales):
    import datetime as dt

    from closeloop.tasks.selectors import MY_WORK_GROUP_ROWS

    today = dt.date(2026, 11, 25)
    for i in range(MY_WORK_GROUP_ROWS + 5):
        make_task(
            actor=head, department=sales, owner=member, title=f"逾期{i}", due=today - dt.timedelta(days=i + 1)
        )
    work = my_work(member, today=today)
    assert work.counts["overdue"] == MY_WORK_GROUP_ROWS + 5 == work.total
    assert len(work.overdue) == MY_WORK_GROUP_ROWS
    assert work.overdue[0].title == f"逾期{MY_WORK_GROUP_ROWS + 4}"  # the longest overdue first


def test_my_work_page_links_to_the_whole_group(client, head, member, sales):
    import datetime as dt

    from django.utils import timezone

    from closeloop.tasks.selectors import MY_WORK_GROUP_ROWS

    for i in range(MY_WORK_GROUP_ROWS + 3):
        make_task(
            actor=head,
            department=sales,
            owner=member,
            title=f"逾期{i}",
            due=timezone.localdate() - dt.timedelta(days=i + 1),
        )
    client.force_login(member)
    html = client.get("/").content.decode()
    assert html.count('class="task-row"') == MY_WORK_GROUP_ROWS
    assert f"owner={member.pk}&amp;status=open&amp;sort=due&amp;overdue=on" in html
    assert str(MY_WORK_GROUP_ROWS + 3) in html


def test_a_department_slice_is_the_same_rule_as_visible_to(task, head, member, outsider, sales):
    make_task(actor=head, department=sales, title="不相关的销售任务")
    services.task_collaborator_add(actor=member, task=Task.objects.get(pk=task.pk), user=outsider)
    for person in (head, member, outsider):
        sliced = set(Task.objects.visible_in_department(person, sales.pk).values_list("title", flat=True))
        assert sliced == set(
            Task.objects.visible_to(person).filter(department=sales).values_list("title", flat=True)
        )
    assert set(Task.objects.visible_in_department(outsider, sales.pk).values_list("title", flat=True)) == {
        "老用户召回活动"
    }
    # Several departments at once: the outsider sees their own department whole, sales only
    # where they help.
    both = [sales.pk, *Membership.objects.filter(user=outsider).values_list("department_id", flat=True)]
    for person in (head, member, outsider):
        sliced = set(Task.objects.visible_in_departments(person, both).values_list("pk", flat=True))
        assert sliced == set(
            Task.objects.visible_to(person).filter(department_id__in=both).values_list("pk", flat=True)
        )
