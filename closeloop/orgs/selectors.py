"""Reads about people and departments, and the department scopes that authorization uses.

The department tree is small (tens of rows), so it is read once per request and walked in
Python; the result is memoised on the user object for the rest of the request.
"""

from collections.abc import Iterable

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from closeloop.core.searchbox import cut_search
from closeloop.orgs.models import Department, Membership, User


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
    # One query: the whole (small) tree, who heads each department, and where I am a member.
    rows = (
        Department.objects.order_by()
        .annotate(mine=Exists(Membership.objects.filter(user=user, department_id=OuterRef("pk"))))
        .values_list("id", "parent_id", "head_id", "deputy_id", "mine")
    )
    parents: dict[int, int | None] = {}
    member: set[int] = set()
    led: set[int] = set()
    tree: dict[int, tuple[int | None, int | None, int | None]] = {}
    for dept, parent, head, deputy, mine in rows:
        parents[dept] = parent
        tree[dept] = (parent, head, deputy)
        if mine:
            member.add(dept)
        if user.pk in (head, deputy):
            led.add(dept)
    led_tree = _descendants(led, parents) if led else set()
    return prime_scopes(user, member=member, led=led_tree, led_rows=[(d, *tree[d]) for d in sorted(led_tree)])


def prime_scopes(
    user: User,
    *,
    member: Iterable[int],
    led: Iterable[int],
    led_rows: Iterable[tuple[int, int | None, int | None, int | None]] | None = None,
) -> dict[str, frozenset[int]]:
    """Memoise the person's department scopes on `user` for the rest of the request, when they
    were read elsewhere (`orgs.request_person` reads them in the query that loads the signed-in
    person). `member`: ids of the departments the person is a member of; `led`: ids of the
    departments they head or deputise *with every department below them*; `led_rows`: those
    departments as (id, parent id, head id, deputy id), from which `acceptance_routes` is
    worked out when first asked (read then when not given). Returns the scopes."""
    member_set, led_set = frozenset(member), frozenset(led)
    scopes = {"member": member_set, "led": led_set, "visible": member_set | led_set}
    user._closeloop_scopes = scopes  # type: ignore[attr-defined]
    user._closeloop_led_rows = None if led_rows is None else tuple(led_rows)  # type: ignore[attr-defined]
    user._closeloop_routes = None  # type: ignore[attr-defined]
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


# Who accepts a submitted task without a named reviewer (DESIGN.md "Who may do what"): the
# head or deputy of its department, never the owner; a head's own task goes to the superior
# (the head of the department above), not to the head's deputy; a department nobody leads
# climbs to the one above. `tasks.permissions.acceptors` (whom the submission notifies) walks
# the same rule from the task up; this works it out from the person down.
Route = tuple[bool, frozenset[int]]


def _acceptor_ids(rows: dict, dept: int, owner: int) -> set[int]:
    """The ids `tasks.permissions.acceptors` names for a task of `dept` owned by `owner`
    without a reviewer, as far as `rows` ({id: (parent, head, deputy)}) reaches: above a
    department not in `rows` nobody in them is found."""
    _parent, head, deputy = rows[dept]
    excluded = {owner}
    if owner == head and deputy:
        excluded.add(deputy)
    found = {x for x in (head, deputy) if x and x not in excluded}
    cur, seen = dept, {dept}
    while not found:
        parent = rows[cur][0]
        if not parent or parent in seen or parent not in rows:
            break
        cur = parent
        seen.add(cur)
        above = rows[cur][1] or rows[cur][2]
        found = {above} if above and above not in excluded else set()
    return found


def acceptance_routes_of(me: int, led_rows: Iterable[tuple]) -> dict[int, Route]:
    """For the person `me` and the departments they lead with every one below
    (`led_rows`: (id, parent, head, deputy)), which submitted tasks without a named reviewer
    are theirs to accept, by department: (False, owners) — every owner but these (always
    `me`: nobody accepts their own task) —, or (True, owners) — only tasks these own (a head's
    own task, for the superior). A department not in the answer sends `me` none. Whose task
    it is decides only by being the department's head or deputy or one of the heads and
    deputies above it, so those people and "anyone else" are all the cases."""
    rows = {r[0]: tuple(r[1:4]) for r in led_rows}
    routes: dict[int, Route] = {}
    for dept in rows:
        special: set[int] = set()
        cur, seen = dept, set()
        while cur in rows and cur not in seen:
            seen.add(cur)
            special.update(x for x in rows[cur][1:] if x)
            cur = rows[cur][0]
        special.discard(me)
        mine = {o: me in _acceptor_ids(rows, dept, o) for o in special}
        if me in _acceptor_ids(rows, dept, 0):  # 0: anyone else (ids start at 1)
            routes[dept] = (False, frozenset({me, *(o for o, yes in mine.items() if not yes)}))
        elif any(mine.values()):
            routes[dept] = (True, frozenset(o for o, yes in mine.items() if yes))
    return routes


def acceptance_routes(user: User) -> dict[int, Route]:
    """`acceptance_routes_of` the person, from the departments they lead (read with their
    scopes), memoised for the request. Empty for someone who leads nothing."""
    _scopes(user)
    routes = getattr(user, "_closeloop_routes", None)
    if routes is not None:
        return routes
    led = led_department_ids(user)
    rows = getattr(user, "_closeloop_led_rows", None)
    if rows is None:
        rows = (
            Department.objects.filter(pk__in=led).values_list("id", "parent_id", "head_id", "deputy_id")
            if led
            else []
        )
    routes = acceptance_routes_of(user.pk, rows) if led else {}
    user._closeloop_routes = routes  # type: ignore[attr-defined]
    return routes


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


# -- people pickers ---------------------------------------------------------------------------
# The people directory is company-wide: owners, reviewers and collaborators may come from any
# department, so any signed-in person may find any active person. Inactive people never show.

PEOPLE_SEARCH_LIMIT = 20
PEOPLE_SUGGESTION_LIMIT = 30
# What a picker shows of a person (display_name · username, and whether they are active).
PICKER_FIELDS = ("id", "username", "name", "first_name", "last_name", "is_active")


def people_search(*, q: str, limit: int = PEOPLE_SEARCH_LIMIT) -> list[User]:
    """Active people whose name (姓名) or username contains every word of `q` (张 finds 张三;
    so does 三), exact matches first, then those that start with `q`, then by name. At most
    `limit` + 1 rows, so the caller can tell there are more. One query.

    No index serves a substring match; the people table is small next to the task table
    (thousands of rows, not millions), so the scan costs about a millisecond."""
    q = cut_search(" ".join(q.split()))[0]
    if not q:
        return []
    match = Q()
    for word in q.split(" "):
        match &= (
            Q(name__icontains=word)
            | Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
        )
    rank = Case(
        When(Q(name__iexact=q) | Q(username__iexact=q), then=Value(0)),
        When(Q(name__istartswith=q) | Q(username__istartswith=q), then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return list(
        User.objects.filter(match, is_active=True)
        .only(*PICKER_FIELDS)
        .order_by(rank, "name", "username")[: limit + 1]
    )


def people_suggestions(*, department_ids: Iterable[int], limit: int = PEOPLE_SUGGESTION_LIMIT) -> list[User]:
    """Active members of the departments, by name: what a picker offers before anyone types.
    One query."""
    ids = sorted(set(department_ids))
    if not ids or limit <= 0:
        return []
    # The members through the (department) index of memberships: as a correlated EXISTS,
    # SQLite walked every person of the company and probed each one's memberships.
    members = Membership.objects.filter(department_id__in=ids).values("user_id")
    return list(
        User.objects.filter(pk__in=members, is_active=True)
        .only(*PICKER_FIELDS)
        .order_by("name", "username")[:limit]
    )


def people_by_ids(ids: Iterable[int]) -> dict[int, User]:
    """The active people among `ids`, by id. One query (none for no ids)."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {u.pk: u for u in User.objects.filter(pk__in=wanted, is_active=True).only(*PICKER_FIELDS)}
