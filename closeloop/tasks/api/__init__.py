"""The task API: one router made of one module per concern (`tasks`, `criteria`, `comments`,
`intake`), with the shapes they share in `schemas`. Mounted by `closeloop.api` under /api/v1."""

from ninja import Router

from closeloop.tasks.api import comments, criteria, intake, tasks

router = Router()
for _module in (tasks, criteria, comments, intake):
    router.add_router("", _module.router)
