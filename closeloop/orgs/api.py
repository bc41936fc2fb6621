"""API: who am I, and the company's departments."""

from typing import Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Router, Schema

from closeloop.core.api_schemas import AUTH_ERRORS, LocalTime
from closeloop.orgs.models import Department, Membership, User, display_name
from closeloop.orgs.selectors import department_visible_list

router = Router(tags=["people and departments"])


class UserRef(Schema):
    id: int
    username: str
    name: str


class DepartmentRef(Schema):
    id: int
    code: str
    name: str


def user_ref(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": user.display_name}


def user_ref_values(pk: int, username: str, name: str, first_name: str, last_name: str) -> dict:
    """`user_ref` of the person whose row has these values, without building a User."""
    return {"id": pk, "username": username, "name": display_name(name, first_name, last_name, username)}


def department_ref(department: Department | None) -> dict | None:
    if department is None:
        return None
    return {"id": department.pk, "code": department.code, "name": department.name}


class MyDepartment(DepartmentRef):
    role: str


class LedDepartment(DepartmentRef):
    role: Literal["head", "deputy"]


class MeOut(Schema):
    id: int
    username: str
    name: str
    email: str
    mobile: str
    language: str
    time_zone: str
    is_admin: bool
    departments: list[MyDepartment]
    leads: list[LedDepartment]


class DepartmentOut(Schema):
    id: int
    code: str
    name: str
    parent: DepartmentRef | None
    head: UserRef | None
    deputy: UserRef | None
    time_zone: str
    workday_start: LocalTime
    workday_end: LocalTime


@router.get("/me", response={200: MeOut, **AUTH_ERRORS}, summary="The calling person")
def me(request: HttpRequest):
    """The caller, the departments they belong to (with their role there) and the departments
    they lead as head or deputy."""
    user: User = request.auth
    memberships = (
        Membership.objects.filter(user=user).select_related("department").order_by("department__code")
    )
    led = Department.objects.filter(Q(head=user) | Q(deputy=user)).order_by("code")
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.display_name,
        "email": user.email,
        "mobile": user.mobile,
        "language": user.language,
        "time_zone": user.time_zone,
        "is_admin": user.is_superuser,
        "departments": [{**department_ref(m.department), "role": m.role} for m in memberships],
        "leads": [{**department_ref(d), "role": "head" if d.head_id == user.pk else "deputy"} for d in led],
    }


@router.get("/departments", response={200: list[DepartmentOut], **AUTH_ERRORS}, summary="All departments")
def departments(request: HttpRequest):
    """Every department of the company (names and heads are not secret; their tasks are),
    ordered by code. `parent` builds the tree."""
    return [
        {
            "id": d.pk,
            "code": d.code,
            "name": d.name,
            "parent": department_ref(d.parent),
            "head": user_ref(d.head),
            "deputy": user_ref(d.deputy),
            "time_zone": d.time_zone,
            "workday_start": d.workday_start,
            "workday_end": d.workday_end,
        }
        for d in department_visible_list(request.auth)
    ]
