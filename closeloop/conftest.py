"""Fixtures for every app: the three people of every authorization test.

- `head`: head of 销售部 (SALES)
- `member`: a specialist in 销售部
- `outsider`: a specialist in 市场部 (MKT), who must not see SALES's tasks
"""

import os

import pytest

from closeloop.orgs.models import Membership
from closeloop.testing.browser import browser  # noqa: F401 - the Chromium fixture, for every browser test
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, make_task

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fresh_work_calendar():
    """A test's WorkDay rows are rolled back but the calendar's per-year cache is not: start
    every test from what the database holds."""
    from closeloop.orgs.calendar import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def company(db):
    return DepartmentFactory(code="HQ", name="总公司")


@pytest.fixture
def sales(company):
    return DepartmentFactory(code="SALES", name="销售部", parent=company)


@pytest.fixture
def marketing(company):
    return DepartmentFactory(code="MKT", name="市场部", parent=company)


@pytest.fixture
def head(sales):
    user = UserFactory(username="sales_head", name="王总")
    add_member(user, sales, Membership.Role.MANAGER)
    sales.head = user
    sales.save(update_fields=["head"])
    return user


@pytest.fixture
def deputy(sales):
    """销售部's deputy (代理负责人)."""
    user = UserFactory(username="sales_deputy", name="陈副总")
    add_member(user, sales, Membership.Role.MANAGER)
    sales.deputy = user
    sales.save(update_fields=["deputy"])
    return user


@pytest.fixture
def ceo(company):
    """The head of 总公司: 销售部's and 市场部's superior (上级主管)."""
    user = UserFactory(username="ceo", name="总经理")
    add_member(user, company, Membership.Role.MANAGER)
    company.head = user
    company.save(update_fields=["head"])
    return user


@pytest.fixture
def member(sales):
    user = UserFactory(username="sales_specialist", name="李专员")
    add_member(user, sales, Membership.Role.SPECIALIST)
    return user


@pytest.fixture
def outsider(marketing):
    user = UserFactory(username="marketing_specialist", name="赵市场")
    add_member(user, marketing, Membership.Role.SPECIALIST)
    return user


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", name="管理员", is_superuser=True, is_staff=True)


@pytest.fixture
def task(head, member, sales):
    """A SALES task owned by the member, created by the head."""
    return make_task(actor=head, department=sales, owner=member, title="老用户召回活动")
