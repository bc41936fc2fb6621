"""Two (or more) workers at once, for the once-only tests of jobs and claims."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def run_in_threads(fn: Callable[[int], Any], n: int = 2) -> list[Any]:
    """Call `fn(i)` for i in 0..n-1, each in its own thread, released together by a barrier
    (so they really overlap), each closing its own database connections when done. Returns
    what the calls returned, in the order they finished; an exception in any thread fails the
    test with every exception raised. Needs a test database that threads can share
    (`transactional_db` / `django_db(transaction=True)`)."""
    results: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results.append(fn(i))
        except BaseException as exc:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    return results
