"""Collaboration fixtures: a SALES task (`task`, owned by `member`) on which the MKT
`outsider` helps, a second SALES task the outsider must never see, and the company head
who receives second-level escalations."""

import datetime as dt
import zoneinfo

import pytest

from closeloop.orgs.models import Membership
from closeloop.tasks.services import task_collaborator_add
from closeloop.testing.factories import UserFactory, add_member, make_task

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=10, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture
def ceo(company):
    user = UserFactory(username="ceo", name="周总")
    add_member(user, company, Membership.Role.MANAGER)
    company.head = user
    company.save(update_fields=["head"])
    return user


@pytest.fixture
def shared(task, head, outsider):
    """The SALES task with the MKT specialist as collaborator."""
    task_collaborator_add(actor=head, task=task, user=outsider)
    return task


@pytest.fixture
def private(head, member, sales):
    return make_task(actor=head, department=sales, owner=member, title="内部薪酬调整")
