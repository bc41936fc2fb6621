"""The authorization matrix: what every URL pattern and API operation answers to every role
about every object (issue 11, item 2). `testing/tests/test_authz_matrix.py` walks the URL
conf and the OpenAPI spec, fails for a route without a row here, and asserts each row.

The world (people, departments, objects) is `closeloop/testing/world.py`:
roles `ROLES` = admin, head, deputy, manager, specialist, collaborator (from another
department, on the `on` task), subtask_owner (from another department, owns a subtask of
`on`), anonymous; objects `OBJECTS` = own (a task of the roles' department SALES), child
(of SALES-EAST, below SALES), other (of FIN), on (the SALES task the collaborator and the
subtask owner are on).

An expectation is one letter per role, in `ROLES` order:

- `C` changed: a write that took place (2xx or a redirect, and the database changed);
- `A` allowed: 2xx, or a redirect that is not to the login page; for a write, nothing changed
  (the web's forms answer a refused plan change with a redirect and a message);
- `V` past authorization, but the input or the state was refused (400, 409, 422): a write
  sent with a body the person could not fill in sensibly; reviewed like an `A`;
- `N` 404: the object is one the person may not see (never told apart from "no such object");
- `F` 403: the person sees the object but may not do this;
- `L` login: the web redirects to the login page, the API answers 401.

A row is `Row(route, method, expect, …)` where `route` is the URL name (`tasks:detail`) or the
API operation id (`closeloop_tasks_api_get_task`), and `expect` is either one string (a route
without an object) or a dict object → string. `kw` builds the URL's parameters for an object
(`kw(world, obj, user)`), `data` the body (`data(world, obj)` or a dict). Writes run inside a
transaction that is rolled back, so every row sees the same world; a write whose answer is
N, F or L must also leave the database as it was.

Adding an app: add one block (`BLOCKS["myapp"] = [...]`) with a row per URL name and per API
operation id, run `make test PYTEST_ARGS="closeloop/testing -q"`: the test names every route
without a row, and for a row whose answer differs it prints the whole observed line.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from closeloop.testing.world import OBJECTS, World

Expect = str | dict[str, str]
Kw = Callable[[World, str, Any], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    route: str
    method: str
    expect: Expect
    kw: Kw | None = None
    data: Any = None
    # For a route named by a prefix (`admin:*`): the URL name actually requested.
    sample: str | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    def expectations(self) -> dict[str, str]:
        """object (or "-") → the string of letters."""
        if isinstance(self.expect, str):
            return {"-": self.expect}
        return dict(self.expect)


def per_object(own: str, child: str, other: str, on: str) -> dict[str, str]:
    return {"own": own, "child": child, "other": other, "on": on}


# -- URL parameters for an object ------------------------------------------------------------


def task(w: World, obj: str, user) -> dict:
    return {"pk": w.things[obj].task.pk}


def api_task(w: World, obj: str, user) -> dict:
    return {"task_id": w.things[obj].task.pk}


def api_successor(w: World, obj: str, user) -> dict:
    pred, succ = w.things[obj].dependency
    return {"task_id": succ, "predecessor_id": pred}


def api_milestone(w: World, obj: str, user) -> dict:
    return {"milestone_id": w.things[obj].milestone.pk}


def api_warning(w: World, obj: str, user) -> dict:
    return {"warning_id": w.things[obj].warning.pk}


def api_collaborator(w: World, obj: str, user) -> dict:
    return {"task_id": w.things[obj].task.pk, "user_id": w.extra["peer2"].pk}


def api_collaborator_on(w: World, obj: str, user) -> dict:
    return {"task_id": w.things[obj].task.pk, "user_id": w.people["collaborator"].pk}


def dependency(w: World, obj: str, user) -> dict:
    pred, succ = w.things[obj].dependency
    return {"pk": succ, "pred": pred, "succ": succ}


def milestone(w: World, obj: str, user) -> dict:
    return {"pk": w.things[obj].task.pk, "milestone_id": w.things[obj].milestone.pk}


def warning(w: World, obj: str, user) -> dict:
    return {"pk": w.things[obj].warning.pk}


def department(w: World, obj: str, user) -> dict:
    return {"dept_id": w.things[obj].department.pk}


def collaborator(w: World, obj: str, user) -> dict:
    return {"pk": w.things[obj].task.pk, "user_id": w.people["collaborator"].pk}


def fixed(**values) -> Kw:
    return lambda w, obj, user: values


def world_value(name: str, attr: str, key: str) -> Kw:
    return lambda w, obj, user: {key: getattr(w.extra[name], attr)}


def versioned(body: dict) -> Callable[[World, str], dict]:
    """`body` plus the task's current `version`: a write without it is refused (428) before
    any permission check, and the row would not show who may write."""

    def build(w: World, obj: str) -> dict:
        from closeloop.tasks.models import Task

        return {
            **body,
            "version": Task.objects.values_list("version", flat=True).get(pk=w.things[obj].task.pk),
        }

    return build


def in_department(key: str = "department") -> Callable[[World, str], dict]:
    """A body naming the object's department."""
    return lambda w, obj: {key: w.things[obj].department.pk}


# Shorthands for common lines.
EVERYONE = "AAAAAAAL"  # any signed-in person; anonymous to the login page
ADMIN_ONLY_403 = "AFFFFFFL"
NOBODY_SEES = "NNNNNNNL"
PUBLIC = "AAAAAAAA"
# A task page-like read: who sees the task.
SEES = per_object(own="AAAAANNL", child="AAANNNNL", other="ANNNNNNL", on="AAAAAAAL")

BLOCKS: dict[str, list[Row]] = {}

# `OBJ` / "?" mark a row whose expectation is not written yet: the test prints the observed one.
OBJ = {o: "?" for o in OBJECTS}

BLOCKS["core"] = [
    Row("healthz", "GET", "AAAAAAAA"),
    Row("readyz", "GET", "AAAAAAAA"),
    Row("admin-status", "GET", "ALLLLLLL"),
    Row("admin:*", "GET", "ALLLLLLL", sample="admin:index", note="the Django admin: staff only"),
]

BLOCKS["orgs"] = [
    Row("login", "GET", "AAAAAAAA"),
    Row("logout", "POST", "LLLLLLLL"),
    Row("password_change", "GET", "AAAAAAAL"),
    Row("password_change_done", "GET", "AAAAAAAL"),
    Row("password_reset", "GET", "AAAAAAAA"),
    Row("password_reset_done", "GET", "AAAAAAAA"),
    Row("password_reset_confirm", "GET", "AAAAAAAA", kw=fixed(uidb64="MQ", token="set-password")),
    Row("password_reset_complete", "GET", "AAAAAAAA"),
    Row("profile", "GET", "AAAAAAAL"),
    Row("profile_token_create", "POST", "AAAAAAAL", data={"name": "脚本"}),
    Row(
        "profile_token_revoke",
        "POST",
        "NNNNNNNL",
        kw=world_value("peer_token", "pk", "token_id"),
        note="someone else's token",
    ),
    Row("language_switch", "POST", "AAAAAAAA", data={"language": "en"}),
    Row("people_search", "GET", "AAAAAAAL"),
    Row("set_language", "POST", "AAAAAAAA", data={"language": "en"}),
    Row("api:api-root", "GET", "NNNNNNNN"),
    Row("api:openapi-json", "GET", "AAAAAAAA"),
    Row("api:openapi-view", "GET", "AAAAAAAA"),
    Row("api:unknown", "GET", "NNNNNNNN", kw=fixed()),
    Row("closeloop_orgs_api_me", "GET", "AAAAAAAL"),
    Row("closeloop_orgs_api_departments", "GET", "AAAAAAAL"),
]

BLOCKS["tasks"] = [
    Row("tasks:home", "GET", "AAAAAAAL"),
    Row("tasks:list", "GET", "AAAAAAAL"),
    Row("tasks:create", "GET", "AAAAAAAL"),
    Row("tasks:create", "POST", "VVVVVVVL", data={}),
    Row("tasks:criterion_row", "GET", "AAAAAAAL"),
    Row("tasks:detail", "GET", per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"), kw=task),
    Row("tasks:edit", "GET", per_object("AAAFFNNL", "AAANNNNL", "ANNNNNNL", "AAAFFFFL"), kw=task),
    Row("tasks:edit", "POST", per_object("VVVFFNNL", "VVVNNNNL", "VNNNNNNL", "VVVFFFFL"), kw=task, data={}),
    Row(
        "tasks:transition",
        "POST",
        per_object("FFFFFNNL", "FFFNNNNL", "FNNNNNNL", "FFFFFFFL"),
        kw=task,
        data={"to": "in_progress"},
    ),
    Row(
        "tasks:reassign", "POST", per_object("VVVFFNNL", "VVVNNNNL", "VNNNNNNL", "VVVFFFFL"), kw=task, data={}
    ),
    Row(
        "tasks:collaborator_add",
        "POST",
        per_object("VVVVVNNL", "VVVNNNNL", "VNNNNNNL", "VVVVVVVL"),
        kw=task,
        data={},
    ),
    Row(
        "tasks:people_form",
        "GET",
        per_object("AAAFFNNL", "AAANNNNL", "ANNNNNNL", "AAAFFFFL"),
        kw=lambda w, o, u: {"pk": w.things[o].task.pk, "name": "reassign"},
        note="the reassign picker, loaded when its panel is opened: for whoever may reassign",
    ),
    Row(
        "tasks:people_form",
        "GET",
        per_object("AAAFFNNL", "AAANNNNL", "ANNNNNNL", "AAAFFFFL"),
        kw=lambda w, o, u: {"pk": w.things[o].task.pk, "name": "collaborators"},
        note="the collaborator picker, loaded when its panel is opened: for whoever may edit the task",
    ),
    Row(
        "tasks:collaborator_remove",
        "POST",
        per_object("AAAFFNNL", "AAANNNNL", "ANNNNNNL", "CCCFFFFL"),
        kw=collaborator,
    ),
    Row("tasks:adhoc", "GET", "AAAAAAAL"),
    Row("tasks:adhoc", "POST", "VVVVVVVL", data={}),
    Row("tasks:intake_check", "POST", "AAAAAAAL", data={"title": "整理"}),
    Row(
        "tasks:comment_add",
        "POST",
        per_object("CCCCCNNL", "CCCNNNNL", "CNNNNNNL", "CCCCCCCL"),
        kw=task,
        data={"body": "看一下"},
    ),
    Row(
        "tasks:department_policy",
        "GET",
        per_object("AAANNNNL", "AAANNNNL", "ANNNNNNL", "AAANNNNL"),
        kw=department,
    ),
    Row(
        "tasks:department_policy",
        "POST",
        per_object("VVVNNNNL", "VVVNNNNL", "VNNNNNNL", "VVVNNNNL"),
        kw=department,
        data={},
    ),
    Row("tasks:dashboard", "GET", "AAAAAAAL"),
    Row("tasks:weekly_review", "GET", "AAAAAAAL"),
    Row("tasks:knowledge", "GET", "AAAAAAAL"),
    Row(
        "calendar:feed", "GET", "NNNNNNNN", kw=fixed(token="not-a-token"), note="a feed answers to its secret"
    ),
    Row("calendar:subscribe", "GET", "AAAAAAAL"),
    Row("calendar:reset", "POST", "CCCCCCCL"),
    Row("closeloop_tasks_api_list_tasks", "GET", "AAAAAAAL"),
    Row(
        "closeloop_tasks_api_create_task",
        "POST",
        per_object("VVVVVVVL", "VVVVVVVL", "VVVVVVVL", "VVVVVVVL"),
        data=lambda w, o: {
            "department": w.things[o].department.pk,
            "title": "新任务：整理客户名单",
            "due_date": str(w.extra["due"]),
        },
    ),
    Row(
        "closeloop_tasks_api_get_task",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_task,
    ),
    Row(
        "closeloop_tasks_api_patch_task",
        "PATCH",
        per_object("AAAFFNNL", "AAANNNNL", "ANNNNNNL", "AAAFFFFL"),
        kw=api_task,
        data=versioned({"priority": 2}),
    ),
    Row(
        "closeloop_tasks_api_transition_task",
        "POST",
        per_object("FFFFFNNL", "FFFNNNNL", "FNNNNNNL", "FFFFFFFL"),
        kw=api_task,
        data=versioned({"to": "in_progress"}),
    ),
    Row(
        "closeloop_tasks_api_add_collaborator",
        "POST",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=api_collaborator,
    ),
    Row(
        "closeloop_tasks_api_remove_collaborator",
        "DELETE",
        per_object("AAAFFNNL", "AAANNNNL", "ANNNNNNL", "CCCFFFFL"),
        kw=api_collaborator_on,
    ),
    Row(
        "closeloop_tasks_api_task_events",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_task,
    ),
    Row(
        "closeloop_tasks_api_plan_list_criteria",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_task,
    ),
    Row(
        "closeloop_tasks_api_plan_put_criteria",
        "PUT",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=api_task,
        data=versioned({"criteria": [{"text": "客户确认"}]}),
    ),
    Row(
        "closeloop_tasks_api_plan_list_comments",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_task,
    ),
    Row(
        "closeloop_tasks_api_plan_add_comment",
        "POST",
        per_object("CCCCCNNL", "CCCNNNNL", "CNNNNNNL", "CCCCCCCL"),
        kw=api_task,
        data={"body": "看一下"},
    ),
    Row(
        "closeloop_tasks_api_plan_create_adhoc",
        "POST",
        per_object("CCCCCFFL", "CCCFFFFL", "CFFFFFFL", "CCCCCFFL"),
        data=lambda w, o: {
            "department": w.things[o].department.pk,
            "title": "客户来电投诉处理",
            "category": "other",
        },
    ),
    Row("closeloop_tasks_api_plan_intake_check", "POST", "AAAAAAAL", data={"title": "整理"}),
]

BLOCKS["planning"] = [
    Row(
        "tasks:subtask_add",
        "POST",
        per_object("VVVVVNNL", "VVVNNNNL", "VNNNNNNL", "VVVVVVVL"),
        kw=task,
        data=lambda w, o: {
            "title": "准备材料",
            "due_date": str(w.extra["today"] + __import__("datetime").timedelta(days=5)),
        },
    ),
    Row(
        "tasks:dependency_add",
        "POST",
        per_object("VVVVVNNL", "VVVNNNNL", "VNNNNNNL", "VVVVVVVL"),
        kw=task,
        data={},
    ),
    Row(
        "tasks:dependency_remove",
        "POST",
        per_object("CCCAANNL", "CCCNNNNL", "CNNNNNNL", "CCCAAANL"),
        kw=dependency,
    ),
    Row(
        "tasks:milestone_add",
        "POST",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=task,
        # On the task's due date: a milestone may not lie after it.
        data=lambda w, o: {"title": "评审", "date": str(w.things[o].task.due_date)},
    ),
    Row(
        "tasks:milestone_action",
        "POST",
        per_object("CCCAANNL", "CCCNNNNL", "CNNNNNNL", "CCCAAAAL"),
        kw=milestone,
        data={"action": "reach"},
    ),
    Row(
        "tasks:template_save",
        "POST",
        per_object("CCCCCNNL", "CCCNNNNL", "CNNNNNNL", "CCCCCFFL"),
        kw=task,
        data={"name": "推广模板"},
    ),
    Row(
        "tasks:template_save",
        "POST",
        "CCCCCFFL",
        kw=world_value("mine", "pk", "pk"),
        data={"name": "标准流程"},
        note="saving one's own subtask in another department under the name of that department's"
        " template: only its members may (issue 11: a collaborator overwrote a sales template)",
    ),
    Row(
        "tasks:template_apply",
        "POST",
        per_object("VVVVVNNL", "VVVNNNNL", "VNNNNNNL", "VVVVVVVL"),
        kw=task,
        data={},
    ),
    Row(
        "tasks:recurrence_set",
        "POST",
        per_object("VVVFFNNL", "VVVNNNNL", "VNNNNNNL", "VVVFFFFL"),
        kw=task,
        data={},
    ),
    Row(
        "tasks:plan_form",
        "GET",
        per_object("AAAFFNNL", "AAANNNNL", "ANNNNNNL", "AAAFFFFL"),
        kw=lambda w, o, u: {"pk": w.things[o].task.pk, "name": "milestone"},
        note="a form of the plan, loaded when its panel is opened: for whoever may change the plan",
    ),
    Row("tasks:board", "GET", "AAAAAAAL"),
    Row("tasks:board_more", "GET", "NNNNNNNL"),
    Row("tasks:timeline", "GET", "AAAAAAAL"),
    Row("tasks:workload", "GET", "AAAAAAAL"),
    Row("tasks:workload_handover", "POST", "NNNNNNNL", data={}),
    Row(
        "tasks:workload_reassign",
        "POST",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=task,
        data={},
    ),
    Row("tasks:calendar", "GET", "AAAAAAAL"),
    Row(
        "tasks:calendar_day",
        "GET",
        "AAAAAAAL",
        kw=lambda w, obj, user: {"day": w.extra["due"].isoformat()},
        note="a day of 日历: what each sees of it (`planning/tests/test_calendar_day.py`)",
    ),
    Row(
        "closeloop_tasks_api_plan_list_subtasks",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_task,
    ),
    Row(
        "closeloop_tasks_api_plan_add_subtask",
        "POST",
        per_object("VVVVVNNL", "VVVNNNNL", "VNNNNNNL", "VVVVVVVL"),
        kw=api_task,
        data={"title": "准备材料"},
    ),
    Row(
        "closeloop_tasks_api_plan_list_dependencies",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_task,
    ),
    Row(
        "closeloop_tasks_api_plan_add_dependency",
        "POST",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=api_task,
        data=lambda w, o: {
            "predecessor": w.things[o].subtask.pk,
        },
    ),
    Row(
        "closeloop_tasks_api_plan_remove_dependency",
        "DELETE",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFNL"),
        kw=api_successor,
    ),
    Row(
        "closeloop_tasks_api_plan_list_milestones",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_task,
    ),
    Row(
        "closeloop_tasks_api_plan_add_milestone",
        "POST",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=api_task,
        data=lambda w, o: {
            "title": "评审",
            "date": str(w.things[o].task.due_date),
        },
    ),
    Row(
        "closeloop_tasks_api_plan_patch_milestone",
        "PATCH",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=api_milestone,
        data={"title": "评审会"},
    ),
    Row(
        "closeloop_tasks_api_plan_delete_milestone",
        "DELETE",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=api_milestone,
    ),
    Row(
        "closeloop_tasks_api_plan_get_recurrence",
        "GET",
        per_object("NNNNNNNL", "NNNNNNNL", "NNNNNNNL", "NNNNNNNL"),
        kw=api_task,
    ),
    Row(
        "closeloop_tasks_api_plan_put_recurrence",
        "PUT",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=api_task,
        data={"frequency": "weekly", "weekday": 1},
    ),
    Row(
        "closeloop_tasks_api_plan_delete_recurrence",
        "DELETE",
        per_object("AAAFFNNL", "AAANNNNL", "ANNNNNNL", "AAAFFFFL"),
        kw=api_task,
    ),
    Row("closeloop_tasks_api_plan_list_templates", "GET", "AAAAAAAL"),
    Row(
        "closeloop_tasks_api_plan_create_template",
        "POST",
        per_object("CCCCCNNL", "CCCNNNNL", "CNNNNNNL", "CCCCCFFL"),
        data=lambda w, o: {
            "department": w.things[o].department.pk,
            "name": "销售模板",
            "from_task": w.things[o].task.pk,
        },
        note="a department's shared template: its members only",
    ),
    Row(
        "closeloop_tasks_api_plan_apply_template",
        "POST",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=api_task,
        data=lambda w, o: {
            "template": w.extra["templates"][o].pk,
        },
    ),
]

BLOCKS["planning"] += [
    Row(
        "tasks:dependency_override",
        "POST",
        per_object("VVVFFNNL", "VVVNNNNL", "VNNNNNNL", "VVVFFFFL"),
        kw=task,
        data={},
    ),
    Row(
        "closeloop_tasks_api_override_dependencies",
        "POST",
        per_object("VVVVVVVL", "VVVVVVVL", "VVVVVVVL", "VVVVVVVL"),
        kw=api_task,
        data={"reason": "客户催促，先行开始"},
        note="TODO: a valid body, so the denied roles show 404/403 rather than the 422 of the body",
    ),
]

BLOCKS["notify"] = [
    Row("notify:list", "GET", "AAAAAAAL"),
    Row(
        "notify:open",
        "GET",
        "NNNNNNNL",
        kw=world_value("peer_notification", "pk", "pk"),
        note="someone else's",
    ),
    Row(
        "notify:read",
        "POST",
        "NNNNNNNL",
        kw=world_value("peer_notification", "pk", "pk"),
        note="someone else's",
    ),
    Row("notify:read_all", "POST", "ACCAACCL"),
    Row("notify:preferences", "GET", "AAAAAAAL"),
    Row("notify:bell", "GET", "AAAAAAAA"),
    Row("closeloop_notify_api_list_notifications", "GET", "AAAAAAAL"),
    Row("closeloop_notify_api_read_all", "POST", "ACCAACCL"),
    Row(
        "closeloop_notify_api_read_one",
        "POST",
        "NNNNNNNL",
        kw=world_value("peer_notification", "pk", "notification_id"),
    ),
    Row("closeloop_notify_api_list_channels", "GET", "AFFFFFFL"),
    Row("closeloop_notify_api_create_channel", "POST", "CFFFFFFL", data={"name": "邮件", "kind": "email"}),
    Row("closeloop_notify_api_get_channel", "GET", "AFFFFFFL", kw=world_value("channel", "pk", "channel_id")),
    Row(
        "closeloop_notify_api_update_channel",
        "PATCH",
        "VFFFFFFL",
        kw=world_value("channel", "pk", "channel_id"),
        data={"name": "销售群"},
    ),
    Row(
        "closeloop_notify_api_test_channel", "POST", "CFFFFFFL", kw=world_value("channel", "pk", "channel_id")
    ),
    Row(
        "closeloop_notify_api_disable_channel",
        "POST",
        "CFFFFFFL",
        kw=world_value("channel", "pk", "channel_id"),
        data={},
    ),
    Row(
        "closeloop_notify_api_enable_channel",
        "POST",
        "VFFFFFFL",
        kw=world_value("channel", "pk", "channel_id"),
    ),
]

BLOCKS["tracking"] = [
    Row("tracking:today", "GET", "AAAAAAAL"),
    Row(
        "tracking:task_updates",
        "POST",
        per_object("VVVVVNNL", "VVVNNNNL", "VNNNNNNL", "VVVVVVVL"),
        kw=task,
        data={},
    ),
    Row("tracking:warning_new", "GET", per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"), kw=task),
    Row(
        "tracking:warning_decide",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=warning,
    ),
    Row(
        "tracking:warning_decide",
        "POST",
        per_object("VVVVVNNL", "VVVNNNNL", "VNNNNNNL", "VVVVVVVL"),
        kw=warning,
        data={},
    ),
    Row(
        "closeloop_tracking_api_list_updates",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_task,
    ),
    Row(
        "closeloop_tracking_api_post_update",
        "POST",
        per_object("FFFFFNNL", "FFFNNNNL", "FNNNNNNL", "FFFFFFFL"),
        kw=api_task,
        data={"note": "进展顺利"},
    ),
    Row(
        "closeloop_tracking_api_list_warnings",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_task,
    ),
    Row(
        "closeloop_tracking_api_raise_warning",
        "POST",
        per_object("FFFFFNNL", "FFFNNNNL", "FNNNNNNL", "FFFFFFFL"),
        kw=api_task,
        data=lambda w, o: {
            "reason": "resources",
            "explanation": "人手不够，需要再排期。",
            "new_due_date": str(w.extra["later"]),
        },
    ),
    Row(
        "closeloop_tracking_api_decide_warning",
        "POST",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=api_warning,
        data={"approve": False, "comment": "再想想"},
    ),
]

BLOCKS["insights"] = [
    Row("insights:dashboard", "GET", "AAAAAAAL"),
    Row("insights:weekly_review", "GET", "AAAAAAAL"),
    Row("insights:weekly_review_print", "GET", "AAAAAAAL"),
    Row("insights:weekly_review_export", "GET", "AAAAAAAL"),
    Row("insights:weekly_review_notes", "POST", "NNNNNNNL", data={}),
    Row("closeloop_insights_api_dashboard_counts", "GET", "AAAAAAAL"),
    Row("closeloop_insights_api_get_weekly_review", "GET", "VVVVVVVL"),
    Row(
        "closeloop_insights_api_put_notes",
        "PUT",
        per_object("CCCCCNNL", "CCCNNNNL", "CNNNNNNL", "CCCCCNNL"),
        data=lambda w, o: {
            "department": w.things[o].department.pk,
            "week": str(w.extra["monday"]),
            "notes": "本周重点：回款",
            "version": 1,
        },
    ),
]

BLOCKS["imsignin"] = [
    Row(
        "imsignin:start", "GET", "VVVVVVVV", kw=fixed(platform="wecom"), note="not set up: no OAuth to start"
    ),
    Row("imsignin:callback", "GET", "VVVVVVVV", kw=fixed(platform="wecom"), note="no state: refused"),
    Row("imsignin:admin_index", "GET", "ALLLLLLL"),
    Row("imsignin:admin_people", "GET", "ALLLLLLL"),
    Row("imsignin:admin_platform", "GET", "ALLLLLLL", kw=fixed(platform="wecom")),
    Row("imsignin:admin_platform", "POST", "VLLLLLLL", kw=fixed(platform="wecom"), data={}),
]


def issue(w: World, obj: str, user) -> dict:
    return {"pk": w.things[obj].issue.pk}


def api_issue(w: World, obj: str, user) -> dict:
    return {"issue_id": w.things[obj].issue.pk}


def minutes(w: World, obj: str, user) -> dict:
    return {"pk": w.things[obj].minutes.pk}


def api_minutes(w: World, obj: str, user) -> dict:
    return {"minutes_id": w.things[obj].minutes.pk}


def minutes_item(w: World, obj: str, user) -> dict:
    return {"pk": w.things[obj].minutes.pk, "item_id": 0}


def api_minutes_item(w: World, obj: str, user) -> dict:
    return {"minutes_id": w.things[obj].minutes.pk, "item_id": 0}


BLOCKS["collab"] = [
    Row("collab:issue_list", "GET", EVERYONE, note="each sees the issues they may see"),
    Row("collab:issue_add", "GET", per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"), kw=task),
    Row("collab:issue", "GET", per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"), kw=issue),
    Row(
        "collab:issue_resolve",
        "POST",
        per_object("VVVFFNNL", "VVVNNNNL", "VNNNNNNL", "VVVFFFFL"),
        kw=issue,
        data={},
    ),
    Row(
        "collab:issue_withdraw",
        "POST",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=issue,
        data={"reason": "重复提出"},
        note="the raiser (the task's owner in this world, not a role), or who leads the department, saying why",
    ),
    Row("collab:plan", "GET", per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"), kw=task),
    Row("collab:minutes_new", "GET", per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"), kw=task),
    Row("collab:minutes", "GET", per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"), kw=minutes),
    Row(
        "collab:action_item_task",
        "POST",
        per_object("NNNNNNNL", "NNNNNNNL", "NNNNNNNL", "NNNNNNNL"),
        kw=minutes_item,
        note="no such item: 404 to all",
    ),
    Row("insights:weekly_review_minutes", "POST", "NNNNNNNL", data={}),
    Row(
        "closeloop_collab_api_list_issues",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_task,
    ),
    Row(
        "closeloop_collab_api_raise_issue",
        "POST",
        per_object("VVVVVVVL", "VVVVVVVL", "VVVVVVVL", "VVVVVVVL"),
        kw=api_task,
        data={"problem": "缺少报价单，需要财务确认。"},
    ),
    Row(
        "closeloop_collab_api_get_issue",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_issue,
    ),
    Row(
        "closeloop_collab_api_resolve_issue",
        "POST",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=api_issue,
        data={"resolution": "已补齐资料"},
    ),
    Row(
        "closeloop_collab_api_withdraw_issue",
        "POST",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=api_issue,
        data={"reason": "重复提出"},
    ),
    Row(
        "closeloop_collab_api_get_plan",
        "GET",
        per_object("NNNNNNNL", "NNNNNNNL", "NNNNNNNL", "NNNNNNNL"),
        kw=api_task,
        note="no task of the world has a plan: 404 to all (collab's tests read one)",
    ),
    Row(
        "closeloop_collab_api_put_plan",
        "PUT",
        per_object("CCCFFNNL", "CCCNNNNL", "CNNNNNNL", "CCCFFFFL"),
        kw=api_task,
        data={"cadence": "daily", "channel": "im"},
    ),
    Row("closeloop_collab_api_list_minutes", "GET", "AAAAAAAL"),
    Row(
        "closeloop_collab_api_create_minutes",
        "POST",
        per_object("VVVVVVVL", "VVVVVVVL", "VVVVVVVL", "VVVVVVVL"),
        data=lambda w, o: {
            "title": "周例会",
            "task": w.things[o].task.pk,
            "attendees": [],
        },
    ),
    Row(
        "closeloop_collab_api_get_minutes",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_minutes,
    ),
    Row(
        "closeloop_collab_api_list_action_items",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_minutes,
    ),
    Row(
        "closeloop_collab_api_action_item_task",
        "POST",
        per_object("NNNNNNNL", "NNNNNNNL", "NNNNNNNL", "NNNNNNNL"),
        kw=api_minutes_item,
        note="no such item",
    ),
]

BLOCKS["sheets"] = [
    Row("sheets:import", "GET", "AAAAAAAL"),
    Row("sheets:import_confirm", "POST", "AAAAAAAL", kw=fixed(token="no-such-import")),
    Row("sheets:import_cancel", "POST", "AAAAAAAL", kw=fixed(token="no-such-import")),
    Row("sheets:export", "GET", "NNNNNNNL", kw=fixed(template="tasks")),
    Row("sheets:people_import", "GET", "AFFFFFFL"),
    Row("sheets:people_export", "GET", "AFFFFFFL"),
    Row(
        "closeloop_sheets_api_export_sheet",
        "GET",
        "VVVVVVVL",
        kw=fixed(template="tasks"),
        note="TODO: a real template and department",
    ),
    Row("closeloop_sheets_api_import_tasks", "POST", "VVVVVVVL", data={}),
]


def all_rows() -> list[Row]:
    return [row for rows in BLOCKS.values() for row in rows]


# review: the world holds no submission, deliverable or review check yet, so the rows that
# name one show 404 to everyone (no such object); the task-level pages are asserted per object.
BLOCKS["review"] = [
    Row("review:submit", "GET", per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"), kw=task),
    Row("review:task_review", "GET", per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"), kw=task),
    Row(
        "review:criteria_consent",
        "POST",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=task,
        data={},
    ),
    Row("review:retrospective", "GET", per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"), kw=task),
    Row("review:judge", "POST", "NNNNNNNL", kw=fixed(pk=999999), data={}, note="no such check"),
    Row("review:download", "GET", "NNNNNNNL", kw=fixed(pk=999999), note="no such file"),
    Row(
        "review:department_rules",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAANNL"),
        kw=department,
    ),
    Row("review:knowledge", "GET", "AAAAAAAL"),
    Row("review:similar", "GET", "AAAAAAAL"),
    Row(
        "closeloop_review_api_list_submissions",
        "GET",
        per_object("AAAAANNL", "AAANNNNL", "ANNNNNNL", "AAAAAAAL"),
        kw=api_task,
    ),
    Row(
        "closeloop_review_api_create_submission",
        "POST",
        per_object("VVVVVVVL", "VVVVVVVL", "VVVVVVVL", "VVVVVVVL"),
        kw=api_task,
        data={},
        note="TODO: a multipart body, so the denied roles show 404/403 rather than the 422 of the form",
    ),
    Row(
        "closeloop_review_api_review_submission",
        "POST",
        "NNNNNNNL",
        kw=fixed(submission_id=999999),
        data={"checks": []},
        note="no such submission",
    ),
    Row("closeloop_review_api_download", "GET", "NNNNNNNL", kw=fixed(deliverable_id=999999)),
    Row(
        "closeloop_review_api_get_retrospective",
        "GET",
        per_object("NNNNNNNL", "NNNNNNNL", "NNNNNNNL", "NNNNNNNL"),
        kw=api_task,
        note="TODO: the world has no retrospective yet: 404 to all",
    ),
    Row(
        "closeloop_review_api_put_retrospective",
        "PUT",
        per_object("VVVFFNNL", "VVVNNNNL", "VNNNNNNL", "VVVFFFFL"),
        kw=api_task,
        data={"what_worked": "提前对齐", "to_improve": "更早确认资源", "version": 0},
    ),
    Row("closeloop_review_api_knowledge", "GET", "AAAAAAAL"),
    Row("closeloop_review_api_similar", "GET", "VVVVVVVL"),
]
