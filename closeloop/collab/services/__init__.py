"""Every write of collaboration: issues and their escalation, the communication plan,
minutes and their action items.

Each function takes the acting user, checks permission and state, writes in one
transaction, appends a TaskEvent (`tasks.services.record_event`) and queues notifications
through `notify`. Issue events go to the parties in-app, to their own channels (IM app or
email, per `notify`'s routing) and to the IM groups of the task's department and of every
department involved.
"""

from closeloop.collab.services.issues import (
    department_tree,
    issue_escalate,
    issue_raise,
    issue_resolve,
    issue_withdraw,
    issues_escalate_due,
)
from closeloop.collab.services.minutes import ActionItemIn, action_item_to_task, minutes_create
from closeloop.collab.services.plans import plan_save, plan_summary

__all__ = [
    "ActionItemIn",
    "action_item_to_task",
    "department_tree",
    "issue_escalate",
    "issue_raise",
    "issue_resolve",
    "issue_withdraw",
    "issues_escalate_due",
    "minutes_create",
    "plan_save",
    "plan_summary",
]
