"""Reads about people and departments, and the department scopes that authorization uses.

The department tree is small (tens of rows), so it is read once per request and walked in
Python; the result is memoised on the user object for the rest of the request.
"""

from django.db.models import Q, QuerySet

from closeloop.orgs.models import Department, Membership, User


def _tree() -> dict[int, int | None]:
    return dict(Department.objects.order_by().values_list("id", "parent_id"))


def _descendants(roots: set[int], parents: dict[int, int | None]) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for dept, parent in parents.items():
        children.setdefault(parent, []).append(dept)
    out: set[int] = set()
    stack = list(roots)
    while stack:
        d = stack.pop()
        if d in out:
            continue
        out.add(d)
        stack.extend(children.get(d, []))
    return out


def _scopes(user: User) -> dict[str, frozenset[int]]:
    cached = getattr(user, "_closeloop_scopes", None)
    if cached is not None:
        return cached
    member = set(Membership.objects.filter(user=user).values_list("department_id", flat=True))
    led = set(
        Department.objects.filter(Q(head=user) | Q(deputy=user)).order_by().values_list("id", flat=True)
    )
    parents = _tree() if led else {}
    led_tree = _descendants(led, parents) if led else set()
    scopes = {
        "member": frozenset(member),
        "led": frozenset(led_tree),
        "visible": frozenset(member | led_tree),
    }
    user._closeloop_scopes = scopes  # type: ignore[attr-defined]
    return scopes


def visible_department_ids(user: User) -> frozenset[int]:
    """Departments whose every task the user sees: their own, and for heads and deputies also
    the departments below the ones they lead."""
    return _scopes(user)["visible"]


def member_department_ids(user: User) -> frozenset[int]:
    return _scopes(user)["member"]


def led_department_ids(user: User) -> frozenset[int]:
    """Departments the user leads as head or deputy, with every department below them."""
    return _scopes(user)["led"]


def leads(user: User, department_id: int) -> bool:
    return user.is_superuser or department_id in led_department_ids(user)


def is_member(user: User, department_id: int) -> bool:
    return user.is_superuser or department_id in member_department_ids(user) or leads(user, department_id)


def departments_for(user: User) -> QuerySet[Department]:
    """Departments a person may pick when creating a task."""
    if user.is_superuser:
        return Department.objects.all()
    return Department.objects.filter(id__in=visible_department_ids(user) | member_department_ids(user))


def department_visible_list(user: User) -> QuerySet[Department]:
    """The departments list of the API: everyone may see the company's departments (names and
    heads are not secret; their tasks are)."""
    return Department.objects.select_related("head", "deputy", "parent").order_by("code")


def department_people(department: Department) -> QuerySet[User]:
    return User.objects.filter(memberships__department=department, is_active=True).order_by("username")


def superior_of(department: Department) -> User | None:
    """上级主管: the head of the parent department."""
    parent = department.parent
    return parent.head if parent is not None else None
