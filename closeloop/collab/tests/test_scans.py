"""Issue 16: the cross-department load on 仪表盘 and 工作量 counts open work by its statuses,
never every task the members ever owned or helped on (see closeloop.testing.plans)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.collab.selectors import cross_department_load
from closeloop.testing.plans import history_reads


@pytest.mark.django_db
def test_cross_department_load_reads_no_history(task, head, member):
    with CaptureQueriesContext(connection) as ctx:
        cross_department_load([head.pk, member.pk])
    assert history_reads(ctx.captured_queries) == []
