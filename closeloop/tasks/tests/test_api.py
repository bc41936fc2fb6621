"""The tasks API: every read tested with someone who must not see it, every write with someone
who may not make it."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from closeloop.orgs.models import Membership, User
from closeloop.orgs.services import api_token_create
from closeloop.tasks.models import Project, Task, TaskEvent
from closeloop.tasks.services import task_transition
from closeloop.testing.factories import UserFactory, add_member, make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    # Messages are asserted in English; without the header a token user gets their saved language.
    return Client(HTTP_ACCEPT_LANGUAGE="en")


TODAY = timezone.localdate()


def bearer(user: User) -> dict[str, str]:
    _token, raw = api_token_create(actor=user, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["message"]
    return body


class Api:
    """A JSON client acting as one person."""

    def __init__(self, client, user: User):
        self.client = client
        self.headers = bearer(user)

    def get(self, url: str, **params):
        return self.client.get("/api/v1" + url, params, **self.headers)

    def post(self, url: str, data=None, **extra):
        return self.client.post(
            "/api/v1" + url, data or {}, content_type="application/json", **self.headers, **extra
        )

    def patch(self, url: str, data, **extra):
        return self.client.patch(
            "/api/v1" + url, data, content_type="application/json", **self.headers, **extra
        )

    def put(self, url: str, data, **extra):
        return self.client.put(
            "/api/v1" + url, data, content_type="application/json", **self.headers, **extra
        )

    def delete(self, url: str):
        return self.client.delete("/api/v1" + url, **self.headers)


@pytest.fixture
def as_member(client, member):
    return Api(client, member)


@pytest.fixture
def as_head(client, head):
    return Api(client, head)


@pytest.fixture
def as_outsider(client, outsider):
    return Api(client, outsider)


@pytest.fixture
def colleague(sales):
    """Another sales specialist: sees the member's tasks but may not edit them."""
    user = UserFactory(username="sales_colleague", name="周同事")
    add_member(user, sales, Membership.Role.SPECIALIST)
    return user


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [t["full_code"] for t in response.json()["items"]]


def valid_task(**overrides) -> dict:
    data = {
        "department": "SALES",
        "title": "月度销售报表",
        "owner": "sales_specialist",
        "due_date": (TODAY + dt.timedelta(days=10)).isoformat(),
        "goal": "汇总上月销售数据,供月度经营会使用",
        "expected_outcome": "月度销售报表(含区域/产品线对比)",
        "value": "支撑月度经营决策",
        "criteria": [
            {
                "text": "数据准确率达标",
                "metric": "数据准确率",
                "comparator": ">=",
                "threshold": 95,
                "unit": "%",
            }
        ],
    }
    data.update(overrides)
    return data


# -- list ---------------------------------------------------------------------------------------


def test_it_does_not_list_sales_tasks_to_the_outsider(as_outsider, as_member, task, outsider, marketing):
    mkt = make_task(actor=outsider, department=marketing, title="品牌活动")
    assert codes(as_member.get("/tasks")) == ["SALES-T001"]
    assert codes(as_outsider.get("/tasks")) == [f"MKT-{mkt.code}"]
    assert codes(as_outsider.get("/tasks", department="SALES")) == []
    assert codes(as_outsider.get("/tasks", q="老用户")) == []


def test_it_filters_the_list(as_head, head, member, colleague, sales, marketing):
    report = make_task(
        actor=head, department=sales, owner=member, title="月度销售报表", priority=1, task_type="routine"
    )
    survey = make_task(actor=head, department=sales, owner=colleague, title="客户需求调研", priority=3)
    late = make_task(
        actor=head, department=sales, owner=member, title="老用户召回活动", due=TODAY + dt.timedelta(days=1)
    )
    Task.objects.filter(pk=late.pk).update(due_date=TODAY - dt.timedelta(days=2))  # time has passed
    done = make_task(actor=head, department=sales, owner=colleague, title="已完成的事")
    for to in ("in_progress", "submitted"):
        done = task_transition(actor=colleague, task=done, to=to)
    task_transition(actor=head, task=done, to="done")
    sub = make_task(actor=head, department=sales, owner=colleague, title="数据清洗", parent=report)

    def got(**params) -> set[int]:
        response = as_head.get("/tasks", **params)
        assert response.status_code == 200, response.content
        return {t["id"] for t in response.json()["items"]}

    everything = {report.pk, survey.pk, late.pk, done.pk, sub.pk}
    assert got() == everything
    assert got(department="SALES") == got(department="sales") == got(department=str(sales.pk)) == everything
    assert got(department="MKT") == set()
    assert got(type="routine") == {report.pk}
    assert got(priority="high") == got(priority=1) == {report.pk}
    assert got(owner="sales_colleague") == got(owner=str(colleague.pk)) == {survey.pk, done.pk, sub.pk}
    assert got(owner="me") == set()
    assert got(status="done") == {done.pk}
    assert got(status="open") == everything - {done.pk}
    assert got(overdue="true") == {late.pk}
    assert got(q="调研") == {survey.pk}
    assert got(q="SALES-T001") == got(q="t001") == {report.pk}
    assert got(top_level="true") == everything - {sub.pk}
    assert got(parent=report.pk) == {sub.pk}
    overdue_item = as_head.get("/tasks", overdue="true").json()["items"][0]
    assert overdue_item["overdue"] is True


def test_it_sorts_and_paginates_with_a_total(as_head, head, member, sales):
    for i in range(7):
        make_task(
            actor=head, department=sales, owner=member, title=f"任务{i}", due=TODAY + dt.timedelta(days=7 - i)
        )
    first = as_head.get("/tasks", ordering="due", limit=3).json()
    assert first["count"] == 7
    assert (first["limit"], first["offset"]) == (3, 0)
    dues = [t["due_date"] for t in first["items"]]
    assert dues == sorted(dues) and len(dues) == 3
    rest = as_head.get("/tasks", ordering="due", limit=3, offset=6).json()
    assert rest["count"] == 7 and len(rest["items"]) == 1
    assert rest["items"][0]["due_date"] > dues[-1]
    by_code = codes(as_head.get("/tasks", ordering="-code"))
    assert by_code[0] == "SALES-T007"


def test_it_rejects_bad_list_parameters_naming_them(as_head, head):
    assert (
        "ordering"
        in assert_error(as_head.get("/tasks", ordering="colour"), 422, "validation_error")["fields"]
    )
    assert "limit" in assert_error(as_head.get("/tasks", limit=5001), 422, "validation_error")["fields"]
    assert "status" in assert_error(as_head.get("/tasks", status="lost"), 422, "validation_error")["fields"]
    body = assert_error(as_head.get("/tasks", department="NOPE"), 422, "validation_error")
    assert "department" in body["fields"] and "NOPE" in body["message"]
    assert "owner" in assert_error(as_head.get("/tasks", owner="ghost"), 422, "validation_error")["fields"]


def test_a_parent_that_does_not_exist_or_is_hidden_is_refused_as_an_unknown_department_is(
    client, as_head, as_outsider, task, outsider
):
    missing = assert_error(as_head.get("/tasks", parent=99999), 422, "validation_error")
    assert missing["fields"] == {"parent": ["No task 99999."]}
    assert missing["message"] == "No task 99999."
    unknown_department = assert_error(as_head.get("/tasks", department=999), 422, "validation_error")
    assert unknown_department["fields"] == {"department": ["No department 999."]}
    # The outsider cannot tell SALES's task from one that does not exist: the same answer.
    hidden = as_outsider.get("/tasks", parent=task.pk)
    gone = as_outsider.get("/tasks", parent=task.pk + 1000)
    assert hidden.status_code == gone.status_code == 422
    assert hidden.json() == {
        **gone.json(),
        "message": f"No task {task.pk}.",
        "fields": {"parent": [f"No task {task.pk}."]},
    }
    # In the reader's language, as the department's.
    zh = client.get(
        "/api/v1/tasks", {"parent": 99999}, HTTP_ACCEPT_LANGUAGE="zh-hans", **bearer(outsider)
    ).json()
    assert zh["fields"] == {"parent": ["任务 99999 不存在。"]}
    # One the caller sees lists its subtasks, none yet: an empty list, 200.
    assert codes(as_head.get("/tasks", parent=task.pk)) == []


def _list_queries(api: Api) -> tuple[int, int]:
    api.get("/tasks")  # warm: the token's last-used stamp is written at most once a minute
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/tasks", limit=200, status="open")
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()["count"]


def test_it_lists_in_constant_queries_for_10_and_100_tasks(client, head, member, sales, marketing):
    project_names = ["召回", "报表", "调研"]
    for i in range(10):
        make_task(
            actor=head,
            department=sales,
            owner=member,
            title=f"任务{i}",
            project=_project(project_names[i % 3]),
        )
    api = Api(client, head)
    few, count = _list_queries(api)
    assert count == 10
    for i in range(10, 100):
        make_task(
            actor=head,
            department=sales,
            owner=member,
            title=f"任务{i}",
            project=_project(project_names[i % 3]),
        )
    api = Api(client, head)
    many, count = _list_queries(api)
    assert count == 100
    # auth, visibility, count, the page of ids, its rows, the forecast join … a fixed set.
    assert few == many <= 9


def _project(name: str) -> Project:
    from closeloop.tasks.services import project_get_or_create

    return project_get_or_create(name=name)


# -- the phrase fallback, as the web list's (tasks/tests/test_search_as_typed.py) ---------------


@pytest.fixture
def contract_tasks(head, member, sales):
    apart = make_task(actor=head, department=sales, owner=member, title="合同模板整理，交法务预审")
    without = make_task(actor=head, department=sales, owner=member, title="合同模板整理")  # no 预审
    return apart, without


def _found(api: Api, **params) -> tuple[set[int], dict]:
    response = api.get("/tasks", **params)
    assert response.status_code == 200, response.content
    body = response.json()
    return {t["id"] for t in body["items"]}, body


# Two of the ways the list is read: a page (`TaskListPaginator`) and a bulk read (`limit` over
# 200); a parent's subtasks, the third, are read as the bulk read is (`_list_rows`).
LIST_PATHS = [{}, {"limit": 5000}]


@pytest.mark.parametrize("path", LIST_PATHS, ids=["page", "bulk"])
def test_a_phrase_no_task_holds_falls_back_to_its_words_and_says_so(
    as_head, contract_tasks, head, member, outsider, marketing, path
):
    apart, _without = contract_tasks
    elsewhere = make_task(actor=outsider, department=marketing, title="合同模板核对，预审（市场部）")

    found, body = _found(as_head, q="合同模板预审", **path)

    assert found == {apart.pk}  # every word, not any; another department's never through it
    assert (body["count"], body["loose"]) == (1, True)
    assert _found(Api(as_head.client, outsider), q="合同模板预审", **path)[0] == {elsewhere.pk}
    # Every page of the answer says so, past the last one too.
    beyond, body = _found(as_head, q="合同模板预审", offset=1, **path)
    assert beyond == set() and (body["count"], body["loose"]) == (1, True)
    # Under its parent, as a subtask.
    sub = make_task(actor=head, department=apart.department, owner=member, parent=apart, title="预审合同模板")
    found, body = _found(as_head, q="合同模板预审", parent=apart.pk)
    assert found == {sub.pk} and body["loose"] is True


@pytest.mark.parametrize("path", LIST_PATHS, ids=["page", "bulk"])
def test_a_phrase_whose_first_word_has_three_characters_falls_back_too(as_head, head, member, sales, path):
    demo = make_task(actor=head, department=sales, owner=member, title="新功能上线客户演示")

    found, body = _found(as_head, q="新功能演示", **path)

    assert found == {demo.pk} and body["loose"] is True


@pytest.mark.parametrize("path", LIST_PATHS, ids=["page", "bulk"])
def test_a_phrase_that_is_found_is_not_loosened_and_says_nothing(
    as_head, contract_tasks, head, member, sales, path
):
    side_by_side = make_task(actor=head, department=sales, owner=member, title="合同模板预审清单")

    found, body = _found(as_head, q="合同模板预审", **path)

    assert found == {side_by_side.pk} and body["loose"] is False
    found, body = _found(as_head, q="合同", **path)  # no run to loosen
    assert len(found) == 3 and body["loose"] is False


@pytest.mark.parametrize("path", LIST_PATHS, ids=["page", "bulk"])
def test_the_fallback_finds_nothing_for_someone_who_may_not_see_the_task(as_outsider, contract_tasks, path):
    found, body = _found(as_outsider, q="合同模板预审", **path)

    assert found == set()
    assert (body["count"], body["loose"]) == (0, False)  # nothing loosely either: nothing to say


def _search_queries(api: Api, q: str, **params) -> tuple[int, dict]:
    api.get("/tasks")  # warm: the token's last-used stamp is written at most once a minute
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/tasks", q=q, **params)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


@pytest.mark.parametrize("path", LIST_PATHS, ids=["page", "bulk"])
def test_the_fallback_costs_no_query_when_the_phrase_matches_and_one_when_it_falls_back(
    as_head, contract_tasks, head, member, sales, path
):
    plain, body = _search_queries(as_head, "合同", **path)  # no run to loosen: the usual queries
    assert body["count"] == 2 and not body["loose"]
    fallback, body = _search_queries(as_head, "合同模板预审", **path)
    assert body["count"] == 1 and body["loose"]
    make_task(actor=head, department=sales, owner=member, title="合同模板预审清单")
    matched, body = _search_queries(as_head, "合同模板预审", **path)
    assert body["count"] == 1 and not body["loose"]
    assert matched == plain <= 9  # as the list's own (`test_it_lists_in_constant_queries…`)
    assert fallback == plain + 1  # the loose search after the phrase found nothing


# -- create -------------------------------------------------------------------------------------


def test_it_creates_a_task(as_member, member, colleague, outsider, sales, head):
    response = as_member.post(
        "/tasks",
        valid_task(
            owner=colleague.pk,
            collaborators=["marketing_specialist"],
            project="老用户召回",
            customer="华东大客户",
            priority="high",
            task_type="collaborative",
            start_date=TODAY.isoformat(),
            reviewer="sales_head",
            criteria=[
                {"text": "召回率提升"},
                {
                    "text": "数据准确率",
                    "metric": "准确率",
                    "comparator": ">=",
                    "threshold": "95",
                    "unit": "%",
                },
            ],
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == "T001" and body["full_code"] == "SALES-T001"
    assert body["owner"]["username"] == "sales_colleague"
    assert body["initiator"]["username"] == "sales_specialist"
    assert body["reviewer"]["username"] == "sales_head"
    assert body["priority"] == 1
    assert body["project"] == "老用户召回" and body["customer"] == "华东大客户"
    assert [c["username"] for c in body["collaborators"]] == ["marketing_specialist"]
    assert [c["text"] for c in body["criteria"]] == ["召回率提升", "数据准确率"]
    assert body["criteria"][1]["threshold"] == 95
    assert body["criteria"][1]["display"] == "准确率 ≥ 95%"
    task = Task.objects.get(pk=body["id"])
    assert task.department == sales and task.owner == colleague
    assert TaskEvent.objects.filter(task=task, verb="created", actor=member).exists()


def test_it_creates_a_task_for_the_caller_by_default(as_member, member, sales):
    response = as_member.post("/tasks", valid_task(owner=None, department=sales.pk))
    assert response.status_code == 201, response.content
    assert response.json()["owner"]["id"] == member.pk


def test_it_creates_a_subtask_under_a_visible_parent(as_member, as_outsider, task):
    data = valid_task(parent=task.pk, department=None, criteria=[])
    response = as_member.post("/tasks", data)
    assert response.status_code == 201, response.content
    assert response.json()["code"] == "T001-1"
    assert response.json()["ancestors"] == [{"id": task.pk, "code": "T001", "title": "老用户召回活动"}]
    # The outsider cannot tell a hidden parent from a missing one.
    assert "parent" in assert_error(as_outsider.post("/tasks", data), 422, "validation_error")["fields"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": None}, "title"),
        ({"title": "   "}, "title"),
        ({"start_date": (TODAY + dt.timedelta(days=20)).isoformat()}, "due_date"),
        ({"priority": "urgent"}, "priority"),
        ({"priority": 9}, "priority"),
        ({"owner": "ghost"}, "owner"),
        ({"owner": 999999}, "owner"),
        ({"due_date": "next friday"}, "due_date"),
        ({"criteria": []}, "criteria"),
        ({"criteria": [{"text": "准确率", "metric": "准确率"}]}, "criteria.1"),
        ({"collaborators": ["sales_head", "ghost"]}, "collaborators.2"),
        ({"department": "NOPE"}, "department"),
        ({"titel": "typo"}, "titel"),
    ],
)
def test_it_refuses_bad_input_naming_the_field_and_stores_nothing(as_member, sales, member, change, field):
    data = valid_task(project="不该新建的项目", **{k: v for k, v in change.items() if v is not None})
    for k, v in change.items():
        if v is None:
            del data[k]
    body = assert_error(as_member.post("/tasks", data), 422, "validation_error")
    assert field in body["fields"], body
    # The message is the first problem as a sentence (naming the field in words, translated);
    # `fields` names each field by its machine name.
    assert field in body["message"] or body["message"] in sum(body["fields"].values(), [])
    assert not Task.objects.exists()
    assert not Project.objects.exists()


def test_it_refuses_to_create_in_a_department_i_am_not_in(as_outsider, sales):
    assert_error(as_outsider.post("/tasks", valid_task(owner="marketing_specialist")), 403, "forbidden")
    assert not Task.objects.exists()


# -- get ----------------------------------------------------------------------------------------


def test_it_shows_a_task_with_criteria_subtasks_and_allowed_transitions(
    as_member, as_head, task, head, colleague
):
    sub = make_task(actor=head, department=task.department, owner=colleague, title="数据清洗", parent=task)
    body = as_member.get(f"/tasks/{task.pk}").json()
    assert body["full_code"] == "SALES-T001"
    assert [c["text"] for c in body["criteria"]] == ["数据准确率达标"]
    assert body["subtasks"] == [
        {
            "id": sub.pk,
            "code": "T001-1",
            "title": "数据清洗",
            "parent_id": task.pk,
            "depth": 1,
            "status": "not_started",
            "progress": 0,
            "owner": {"id": colleague.pk, "username": "sales_colleague", "name": "周同事"},
            "due_date": sub.due_date.isoformat(),
        }
    ]
    # The owner starts, blocks; the head (initiator) cancels.
    assert set(body["allowed_transitions"]) == {"in_progress", "blocked"}
    assert body["can_edit"] is True and body["can_reassign"] is False
    assert set(as_head.get(f"/tasks/{task.pk}").json()["allowed_transitions"]) == {"cancelled"}


def test_it_answers_404_to_the_outsider_for_a_sales_task(as_outsider, task):
    assert_error(as_outsider.get(f"/tasks/{task.pk}"), 404, "not_found")
    assert_error(as_outsider.get(f"/tasks/{task.pk}/events"), 404, "not_found")
    assert_error(as_outsider.get("/tasks/999999"), 404, "not_found")


# -- patch --------------------------------------------------------------------------------------


def _v(task) -> int:
    """The task's version now (the API's writes must send the one they read)."""
    return Task.objects.values_list("version", flat=True).get(pk=task.pk)


def test_it_lets_the_owner_edit_fields_and_criteria(as_member, task):
    response = as_member.patch(
        f"/tasks/{task.pk}",
        {
            "title": "老用户召回活动（二期）",
            "priority": "high",
            "project": "召回",
            "progress": 30,
            "criteria": [{"text": "召回 500 人"}],
            "version": task.version,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "老用户召回活动（二期）"
    assert body["priority"] == 1 and body["project"] == "召回" and body["progress"] == 30
    assert [c["text"] for c in body["criteria"]] == ["召回 500 人"]
    assert body["version"] == task.version + 1
    event = TaskEvent.objects.filter(task=task, verb="updated").get()
    assert event.after["title"] == "老用户召回活动（二期）"


def test_it_answers_403_to_a_member_who_may_not_edit(client, colleague, task):
    body = assert_error(
        Api(client, colleague).patch(f"/tasks/{task.pk}", {"title": "改掉", "version": _v(task)}),
        403,
        "forbidden",
    )
    assert "owner" in body["message"]
    task.refresh_from_db()
    assert task.title == "老用户召回活动"


def test_it_answers_404_to_the_outsider_trying_to_edit(as_outsider, task):
    assert_error(as_outsider.patch(f"/tasks/{task.pk}", {"title": "改掉"}), 404, "not_found")


def test_it_answers_409_for_a_stale_version(as_member, as_head, task):
    assert as_head.patch(f"/tasks/{task.pk}", {"notes": "先改了", "version": task.version}).status_code == 200
    body = assert_error(
        as_member.patch(f"/tasks/{task.pk}", {"notes": "后改的", "version": task.version}),
        409,
        "version_conflict",
    )
    assert "reload" in body["message"]
    task.refresh_from_db()
    assert task.notes == "先改了"


def test_it_refuses_a_bad_edit_naming_the_field(as_member, task):
    before = (task.start_date, task.due_date)
    body = assert_error(
        as_member.patch(
            f"/tasks/{task.pk}",
            {"start_date": (task.due_date + dt.timedelta(days=1)).isoformat(), "version": _v(task)},
        ),
        422,
        "validation_error",
    )
    assert "due_date" in body["fields"]
    assert (
        "progress"
        in assert_error(
            as_member.patch(f"/tasks/{task.pk}", {"progress": 120, "version": _v(task)}),
            422,
            "validation_error",
        )["fields"]
    )
    assert (
        "owner"
        in assert_error(
            as_member.patch(f"/tasks/{task.pk}", {"owner": None, "version": _v(task)}),
            422,
            "validation_error",
        )["fields"]
    )
    task.refresh_from_db()
    assert (task.start_date, task.due_date, task.progress) == (*before, 0)


def test_it_lets_the_head_reassign_but_not_the_owner(as_member, as_head, task, colleague):
    assert_error(
        as_member.patch(
            f"/tasks/{task.pk}", {"owner": "sales_colleague", "notes": "交给同事", "version": _v(task)}
        ),
        403,
        "forbidden",
    )
    task.refresh_from_db()
    assert task.owner_id != colleague.pk
    assert task.notes == ""  # all or nothing
    response = as_head.patch(
        f"/tasks/{task.pk}", {"owner": colleague.pk, "reason": "资源调整", "version": _v(task)}
    )
    assert response.status_code == 200, response.content
    assert response.json()["owner"]["username"] == "sales_colleague"
    assert TaskEvent.objects.get(task=task, verb="reassigned").note == "资源调整"


# -- transitions --------------------------------------------------------------------------------


def test_it_moves_a_task_along_the_status_machine(as_member, as_head, task):
    response = as_member.post(
        f"/tasks/{task.pk}/transition", {"to": "in_progress", "note": "开工", "version": _v(task)}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_progress"
    # Submitting and accepting need deliverables and a check of each criterion: they go
    # through review's tasks/{id}/submissions and submissions/{id}/review, not one tap here.
    assert_error(
        as_member.post(f"/tasks/{task.pk}/transition", {"to": "submitted", "version": _v(task)}),
        409,
        "transition_not_allowed",
    )
    assert (
        as_member.post(
            f"/tasks/{task.pk}/transition", {"to": "blocked", "note": "等数据", "version": _v(task)}
        ).status_code
        == 200
    )
    assert TaskEvent.objects.filter(task=task, verb="status_changed").count() == 2


def test_it_refuses_a_transition_the_machine_does_not_have_naming_the_allowed_ones(as_member, task):
    body = assert_error(
        as_member.post(f"/tasks/{task.pk}/transition", {"to": "done", "version": _v(task)}),
        409,
        "transition_not_allowed",
    )
    assert "In progress" in body["message"] and "Blocked" in body["message"]
    task.refresh_from_db()
    assert task.status == "not_started"


def test_it_answers_403_when_the_wrong_person_moves_the_task(as_head, task):
    # Starting is the owner's; the head sees the task but may not start it for them.
    assert_error(
        as_head.post(f"/tasks/{task.pk}/transition", {"to": "in_progress", "version": _v(task)}),
        403,
        "forbidden",
    )
    task.refresh_from_db()
    assert task.status == "not_started"


def test_it_answers_404_when_the_outsider_moves_a_sales_task(as_outsider, task):
    assert_error(
        as_outsider.post(f"/tasks/{task.pk}/transition", {"to": "cancelled", "note": "x"}), 404, "not_found"
    )


def test_it_refuses_a_bad_transition_request(as_member, task):
    assert (
        "to"
        in assert_error(
            as_member.post(f"/tasks/{task.pk}/transition", {"to": "lost", "version": _v(task)}),
            422,
            "validation_error",
        )["fields"]
    )
    assert (
        "note"
        in assert_error(
            as_member.post(f"/tasks/{task.pk}/transition", {"to": "blocked", "version": _v(task)}),
            422,
            "validation_error",
        )["fields"]
    )
    assert_error(
        as_member.post(f"/tasks/{task.pk}/transition", {"to": "in_progress", "version": task.version + 5}),
        409,
        "version_conflict",
    )


# -- collaborators and events -------------------------------------------------------------------


def test_it_adds_and_removes_a_collaborator_who_then_sees_only_that_task(
    as_member, as_outsider, task, outsider, head
):
    other = make_task(actor=head, department=task.department, title="别的销售任务")
    assert_error(as_outsider.get(f"/tasks/{task.pk}"), 404, "not_found")
    added = as_member.post(f"/tasks/{task.pk}/collaborators/{outsider.pk}")
    assert added.status_code == 201, added.content
    assert [c["username"] for c in added.json()["collaborators"]] == ["marketing_specialist"]
    assert as_member.post(f"/tasks/{task.pk}/collaborators/{outsider.pk}").status_code == 200  # already there
    assert as_outsider.get(f"/tasks/{task.pk}").status_code == 200
    assert "SALES-T001" in codes(as_outsider.get("/tasks"))
    assert other.pk not in {t["id"] for t in as_outsider.get("/tasks").json()["items"]}
    removed = as_member.delete(f"/tasks/{task.pk}/collaborators/{outsider.pk}")
    assert removed.status_code == 200 and removed.json()["collaborators"] == []
    assert_error(Api(as_outsider.client, outsider).get(f"/tasks/{task.pk}"), 404, "not_found")


def test_it_answers_403_to_a_member_who_may_not_add_collaborators(client, task, colleague, outsider):
    assert_error(
        Api(client, colleague).post(f"/tasks/{task.pk}/collaborators/{outsider.pk}"), 403, "forbidden"
    )


def test_it_refuses_collaborator_changes_from_the_wrong_people(client, as_outsider, task, outsider):
    assert_error(as_outsider.post(f"/tasks/{task.pk}/collaborators/{outsider.pk}"), 404, "not_found")
    assert_error(Api(client, task.owner).post(f"/tasks/{task.pk}/collaborators/999999"), 404, "not_found")


def test_it_shows_the_activity_log_newest_first(as_member, task):
    as_member.post(f"/tasks/{task.pk}/transition", {"to": "in_progress", "version": _v(task)})
    body = as_member.get(f"/tasks/{task.pk}/events").json()
    assert body["count"] == 2
    assert [e["verb"] for e in body["items"]] == ["status_changed", "created"]
    assert body["items"][0]["after"] == {"status": "in_progress"}
    assert body["items"][0]["actor"]["username"] == "sales_specialist"


def _detail_queries(api: Api, pk: int) -> int:
    api.get(f"/tasks/{pk}")
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(f"/tasks/{pk}")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_it_shows_a_task_in_constant_queries_however_big_its_tree(client, head, member, task):
    api = Api(client, member)
    leaf = _detail_queries(api, task.pk)  # never had a subtask: no look-up for them
    make_task(actor=head, department=task.department, owner=UserFactory(), title="第一个子任务", parent=task)
    few = _detail_queries(api, task.pk)
    assert few == leaf + 1
    for i in range(15):
        sub = make_task(
            actor=head, department=task.department, owner=UserFactory(), title=f"子任务{i}", parent=task
        )
        make_task(actor=head, department=task.department, owner=UserFactory(), title=f"孙任务{i}", parent=sub)
    many = _detail_queries(api, task.pk)
    assert len(api.get(f"/tasks/{task.pk}").json()["subtasks"]) == 31
    assert few == many


# -- lost updates (issue 11, item 3) ------------------------------------------------------------


def test_a_write_without_the_version_it_read_is_refused_with_428(as_member, task):
    before = _v(task)
    for response in (
        as_member.patch(f"/tasks/{task.pk}", {"notes": "盲改"}),
        as_member.post(f"/tasks/{task.pk}/transition", {"to": "in_progress"}),
        as_member.put(f"/tasks/{task.pk}/criteria", {"criteria": [{"text": "盲改的标准"}]}),
    ):
        body = assert_error(response, 428, "version_required")
        assert "version" in body["message"] and "If-Match" in body["message"]
    task.refresh_from_db()
    assert task.version == before and task.notes != "盲改" and task.status == "not_started"


def test_if_match_carries_the_version_and_a_stale_one_answers_409(as_member, task):
    v = _v(task)
    ok = as_member.patch(f"/tasks/{task.pk}", {"notes": "用 If-Match"}, HTTP_IF_MATCH=f'"{v}"')
    assert ok.status_code == 200 and ok.json()["version"] == v + 1
    assert_error(
        as_member.patch(f"/tasks/{task.pk}", {"notes": "旧的"}, HTTP_IF_MATCH=f'W/"{v}"'),
        409,
        "version_conflict",
    )
    assert_error(
        as_member.patch(f"/tasks/{task.pk}", {"notes": "乱写"}, HTTP_IF_MATCH="*"), 422, "validation_error"
    )
    moved = as_member.post(f"/tasks/{task.pk}/transition", {"to": "in_progress"}, HTTP_IF_MATCH=f'"{v + 1}"')
    assert moved.status_code == 200 and moved.json()["status"] == "in_progress"


def test_the_schema_documents_the_lists_phrase_fallback(as_member):
    spec = as_member.get("/openapi.json").json()
    page = spec["components"]["schemas"]["TaskPage"]
    assert "loose" in page["required"] and page["properties"]["loose"]["type"] == "boolean"
    assert "合同模板预审" in page["properties"]["loose"]["description"]
    assert "`loose`" in spec["paths"]["/api/v1/tasks"]["get"]["description"]


def test_the_schema_documents_428_on_versioned_writes(as_member):
    spec = as_member.get("/openapi.json").json()
    assert "428" in spec["paths"]["/api/v1/tasks/{task_id}"]["patch"]["responses"]
    assert "428" in spec["paths"]["/api/v1/tasks/{task_id}/transition"]["post"]["responses"]
