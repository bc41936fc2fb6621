"""Comments on a task, with @mentions that notify the person mentioned."""

import re

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from closeloop.core.errors import ValidationFailed
from closeloop.notify.services import notify
from closeloop.orgs.models import User
from closeloop.tasks import markup
from closeloop.tasks.models import (
    Comment,
    Task,
)
from closeloop.tasks.services import (
    record_event,
    task_message,
)

# -- comments --------------------------------------------------------------------------------

MENTION_RE = re.compile(r"(?<![\w@])@([\w.\-\u4e00-\u9fff]{1,40})")
COMMENT_MAX = 5000


def comment_add(*, actor: User, task: Task, body: str) -> Comment:
    """A comment by anyone who sees the task (callers fetch it with `access_task`). Markdown
    subset rendered and sanitized once; each @username or @姓名 who may see the task is
    notified ("mentioned")."""
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(_("body: Write something."), fields={"body": [_("Write something.")]})
    if "\x00" in body:  # PostgreSQL cannot store it
        raise ValidationFailed(
            _("The text contains a NUL character."),
            fields={"body": [_("The text contains a NUL character.")]},
        )
    if len(body) > COMMENT_MAX:
        raise ValidationFailed(
            _("body: A comment is at most 5000 characters."), fields={"body": [_("At most 5000 characters.")]}
        )
    handles = list(dict.fromkeys(MENTION_RE.findall(body)))[:20]
    people: list[User] = []
    if handles:
        candidates = User.objects.filter(Q(username__in=handles) | Q(name__in=handles), is_active=True)
        for person in candidates:
            if Task.objects.visible_to(person).filter(pk=task.pk).exists():
                people.append(person)
    with transaction.atomic():
        comment = Comment.objects.create(
            task=task, author=actor, body=body, html=markup.render(body), mentions=[p.pk for p in people]
        )
        record_event(task=task, actor=actor, verb="commented", after={"comment": comment.pk}, note=body[:300])
        if people:
            notify(
                recipients=people,
                kind="mentioned",
                data=task_message(task, actor, note=body[:300]),
                link=f"{task.get_absolute_url()}#comment-{comment.pk}",
                actor=actor,
            )
    return comment
