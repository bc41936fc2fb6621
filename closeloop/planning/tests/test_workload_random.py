"""工作量 counts each member's open tasks that the viewer may see: counted in two parts (the
departments the viewer sees whole, then what they see elsewhere by name) and added, it must
equal the plain count over `Task.objects.visible_to` in random worlds — tasks owned across
departments, subtasks outside, reviewers, collaborators and links (the worlds of the
visibility tests). A difference would show someone a count of tasks they may not see."""

import random
from collections import Counter

import pytest

from closeloop.core.errors import NotFound
from closeloop.orgs.models import Department, User
from closeloop.planning.selectors.workload import workload, workload_departments
from closeloop.tasks.models import Task
from closeloop.tasks.states import OPEN_STATUSES
from closeloop.tasks.tests.test_visibility_random import _fresh, _world


@pytest.mark.parametrize("seed", range(3))
def test_workload_counts_what_the_viewer_may_see_in_random_worlds(db, seed):
    people, tasks = _world(seed)
    rng = random.Random(seed)
    for t in rng.sample(tasks, len(tasks) // 3):
        Task.objects.filter(pk=t.pk).update(
            status=rng.choice(["done", "cancelled", "in_progress", "blocked"])
        )
    departments = list(Department.objects.filter(code__endswith=str(seed)))
    counted = 0
    for viewer in [*people, User.objects.create_superuser("root" + str(seed), password="x")]:
        allowed = {d.pk for d in workload_departments(_fresh(viewer))}
        for department in departments:
            if department.pk not in allowed:
                with pytest.raises(NotFound):
                    workload(_fresh(viewer), department=department)
                continue
            shown = {
                p.person.pk: (p.total, p.by_priority)
                for p in workload(_fresh(viewer), department=department)["people"]
            }
            for person_pk, (total, by_priority) in shown.items():
                visible = Task.objects.visible_to(_fresh(viewer)).filter(
                    owner_id=person_pk, status__in=OPEN_STATUSES
                )
                expected = Counter(visible.values_list("priority", flat=True))
                assert total == sum(expected.values()), (viewer.username, department.code, person_pk)
                assert {k: v for k, v in by_priority.items() if v} == dict(expected)
                counted += total
    assert counted  # the worlds do hold open tasks
