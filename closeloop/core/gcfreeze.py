"""Python's full garbage collections in a serving process (issue 16).

A gunicorn worker holds ~170,000 long-lived objects after its first requests (Django, the apps,
URL patterns, templates, translation catalogues). CPython's oldest-generation collection walks
all of them: ~100 ms on this benchmark's 2-core machine, landing on whichever request crossed
the threshold — the p95 of 仪表盘 was ~220 ms where its median is ~90 (measured in-process with
`gc.callbacks`: the slow requests were exactly those with a generation-2 collection).
`gc.freeze()` moves the objects alive at that moment to a permanent generation that
collections skip (the approach Python's documentation gives for pre-fork servers): a
generation-2 collection then costs ~10–20 ms.

`freeze_after(n)` freezes once, after the process's `n`-th finished request, when the lazy
parts (URL resolver, templates, catalogues) have been loaded; a full collection runs first so
garbage is not frozen with them. Objects of requests in flight at that moment stay in memory
for the process's life (a few requests' worth, once). Used by `closeloop.wsgi` only: tests and
management commands keep Python's defaults."""

import gc
import threading

from django.core.signals import request_finished

_lock = threading.Lock()
_state = {"seen": 0, "after": 0, "done": False}


def _finished(**_kwargs) -> None:
    with _lock:
        if _state["done"]:
            return
        _state["seen"] += 1
        if _state["seen"] < _state["after"]:
            return
        _state["done"] = True
    request_finished.disconnect(_finished, dispatch_uid="closeloop.gcfreeze")
    gc.collect()
    gc.freeze()


def freeze_after(n: int = 20) -> None:
    """Freeze the process's objects (`gc.freeze()`) once, after `n` finished requests (n ≥ 1;
    0 or less: never). Raises nothing; a second call before the freeze restarts the count."""
    if n <= 0:
        return
    with _lock:
        _state.update(seen=0, after=n, done=False)
    request_finished.connect(_finished, dispatch_uid="closeloop.gcfreeze")
