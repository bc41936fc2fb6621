"""API of comments on a task."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from closeloop.core.api_schemas import READ_ERRORS, WRITE_ERRORS
from closeloop.orgs.api import UserRef, user_ref
from closeloop.tasks import comments as comment_services
from closeloop.tasks.api.schemas import (
    StrictIn,
)
from closeloop.tasks.models import Comment
from closeloop.tasks.selectors import access_task

router = Router(tags=["tasks"])
# Operation ids stay those of the module these operations were first written in.
OPENAPI_MODULE = "closeloop.tasks.api_plan"


class CommentIn(StrictIn):
    body: str = Field(description="Markdown subset; @username or @姓名 notifies that person.")


class CommentOut(Schema):
    id: int
    author: UserRef
    body: str
    html: str
    mentions: list[int]
    created_at: dt.datetime


class CommentList(Schema):
    items: list[CommentOut]


def _comment(c: Comment) -> dict[str, Any]:
    return {
        "id": c.pk,
        "author": user_ref(c.author),
        "body": c.body,
        "html": c.html,
        "mentions": c.mentions,
        "created_at": c.created_at,
    }


# -- comments -----------------------------------------------------------------------------------


@router.get("/tasks/{task_id}/comments", response={200: CommentList, **READ_ERRORS}, summary="Comments")
def list_comments(request: HttpRequest, task_id: int):
    task = access_task(request.auth, task_id)
    return {"items": [_comment(c) for c in Comment.objects.filter(task=task).select_related("author")[:500]]}


@router.post("/tasks/{task_id}/comments", response={201: CommentOut, **WRITE_ERRORS}, summary="Comment")
def add_comment(request: HttpRequest, task_id: int, payload: CommentIn):
    """Anyone who sees the task. Mentioned people who may see it are notified."""
    task = access_task(request.auth, task_id)
    return 201, _comment(comment_services.comment_add(actor=request.auth, task=task, body=payload.body))
