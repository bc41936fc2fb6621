"""Comments on a task, with @mentions that notify the person mentioned."""

from django.db import transaction
from django.utils.translation import gettext as _

from closeloop.core.errors import ValidationFailed
from closeloop.notify.services import notify
from closeloop.orgs import mentions
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
    found = mentions.find_mentions(
        body, allowed=lambda person: Task.objects.visible_to(person).filter(pk=task.pk).exists()
    )
    people = mentions.people_of(found)
    with transaction.atomic():
        comment = Comment.objects.create(
            task=task,
            author=actor,
            body=body,
            html=markup.render(body, [m.handle for m in found]),
            mentions=[p.pk for p in people],
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
