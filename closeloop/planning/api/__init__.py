"""The planning API: one router made of one module per concern, mounted by `closeloop.api`
under /api/v1 with the same paths and operation ids as when it lived in `tasks`."""

from ninja import Router

from closeloop.planning.api import decomposition, recurrence, templates

router = Router()
for _module in (decomposition, recurrence, templates):
    router.add_router("", _module.router)
