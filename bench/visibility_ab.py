"""A/B of who-sees-what (issue 16: visibility cost): the ORM `visibility()` and
`access_task()` (kept in closeloop/tasks/tests/visibility_reference.py) against the
hand-written ones, in one process: Python function calls (cProfile total) and queries.

    BENCH_URL=sqlite:///$PWD/var/bench.sqlite3 python -m bench.visibility_ab

Measures `visibility()` of the department head with the most tasks and of the specialist
with the most tasks outside their departments (both with the department scopes already
memoised, as on a page), and `access_task` of the newest task with a reviewer, project and
customer for its department's head. Asserts the two rules are equal.
"""

import cProfile
import os
import pstats


def main() -> None:
    from bench.generate import configure

    configure(os.environ["BENCH_URL"])
    from django.db import connection
    from django.db.models import Q
    from django.test.utils import CaptureQueriesContext

    from closeloop.orgs.models import Department, Membership, User
    from closeloop.orgs.selectors import visible_department_ids
    from closeloop.tasks import visibility as vis
    from closeloop.tasks.models import Task
    from closeloop.tasks.selectors import access_task
    from closeloop.tasks.tests.visibility_reference import reference_access_task, reference_visibility

    def measure(label, fn, user):
        for _ in range(3):  # warm: imports, compiled look-ups
            fn(User.objects.get(pk=user.pk))
        person = User.objects.get(pk=user.pk)
        visible_department_ids(person)  # the page has it already
        profile = cProfile.Profile()
        with CaptureQueriesContext(connection) as queries:
            profile.enable()
            result = fn(person)
            profile.disable()
        print(f"{label:40s} calls={pstats.Stats(profile).total_calls:6d} queries={len(queries)}")
        return result

    heads = User.objects.filter(pk__in=Department.objects.exclude(head=None).values("head"))
    head = max(heads, key=lambda u: Task.objects.filter(department__head=u).count())

    def outside(u):
        mine = Membership.objects.filter(user=u).values("department_id")
        related = Q(owner=u) | Q(reviewer=u) | Q(collaborator_links__user=u)
        return Task.objects.exclude(department_id__in=mine).filter(related).count()

    specialists = User.objects.filter(pk__in=Membership.objects.filter(role="specialist").values("user_id"))
    specialist = max(specialists[:200], key=outside)
    print(f"{connection.vendor}: head {head.username}, specialist {specialist.username}")
    for name, person in (("head", head), ("specialist", specialist)):
        old = measure(f"main visibility({name})", reference_visibility, person)
        new = measure(f"new  visibility({name})", vis.visibility, person)
        assert old == new
    rich = (
        Task.objects.exclude(reviewer=None)
        .exclude(project=None)
        .exclude(customer=None)
        .order_by("-id")
        .first()
    )
    viewer = rich.department.head or head
    measure("main access_task(rich task)", lambda u: reference_access_task(u, rich.pk), viewer)
    measure("new  access_task(rich task)", lambda u: access_task(u, rich.pk), viewer)


if __name__ == "__main__":
    main()
