"""Every read of acceptance and the knowledge base a person can see. Authorization is the
query: submissions, files and retrospectives are reached only through tasks the person may
see (`Task.objects.visible_to`); anything else is NotFound."""

from collections import Counter
from dataclasses import dataclass

from django.db import connection, connections
from django.db.models import Count, F, Func, IntegerField, Prefetch, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from closeloop.core import compiled
from closeloop.core.errors import NotFound
from closeloop.orgs.models import display_name
from closeloop.orgs.selectors import visible_department_ids
from closeloop.review import search
from closeloop.review.models import (
    CriterionCheck,
    Deliverable,
    Retrospective,
    StagedUpload,
    Submission,
    Verdict,
)
from closeloop.tasks.models import Task, subtree_q
from closeloop.tasks.selectors import COMPILED_TREE, access_task, visibility
from closeloop.tasks.states import Status


def rounds(task: Task) -> list[Submission]:
    """Every attempt of a task, oldest first, with its checks and deliverables (three queries)."""
    return list(
        Submission.objects.filter(task=task)
        .select_related("submitted_by", "reviewed_by")
        .prefetch_related(
            Prefetch("checks", queryset=CriterionCheck.objects.order_by("position", "id")),
            Prefetch("deliverables", queryset=Deliverable.objects.order_by("id")),
        )
        .order_by("attempt")
    )


_PERSON = ("name", "first_name", "last_name", "username")
_ROUND_FIELDS = (
    "id",
    "attempt",
    "verdict",
    "submitted_at",
    "key_results",
    "completed_on",
    "reviewed_at",
    "review_comment",
    *(f"submitted_by__{f}" for f in _PERSON),
    *(f"reviewed_by__{f}" for f in _PERSON),
)
_DELIVERABLE_FIELDS = ("id", "kind", "name", "size", "url")
_CHECK_FIELDS = (
    "id",
    "submission_id",
    "position",
    "text",
    "metric",
    "comparator",
    "threshold",
    "unit",
    "passed",
    "measured",
    "comment",
)


_DELIVERABLE_KEYS = tuple(f"deliverables__{f}" for f in _DELIVERABLE_FIELDS)


def _attempts_query(task_id: int):
    return (
        Submission.objects.filter(task_id=task_id)
        .order_by("attempt", "deliverables__id")
        .values(*_ROUND_FIELDS, *_DELIVERABLE_KEYS)
    )


def review_rounds(task: Task) -> list[dict]:
    """Every attempt of a task, oldest first, as plain values for the pages (two queries, no
    model instances: the attempts with their people and deliverables in one joined query, then
    every check). Each dict has `_ROUND_FIELDS` plus `submitted_by` / `reviewed_by` (display
    names, "" for nobody), `deliverables` (dicts of id, kind, name, size, url; by id) and
    `checks` (dicts of `_CHECK_FIELDS`, by position and id)."""
    by_id: dict[int, dict] = {}
    # Compiled once per connection (core.compiled: building the values() query was ~1,500
    # Python calls of a task page with a submission).
    for row in compiled.values("review_rounds.attempts", Submission, _attempts_query, (task.pk,)):
        sub = by_id.get(row["id"])
        if sub is None:
            sub = {k: row[k] for k in _ROUND_FIELDS}
            sub["submitted_by"] = display_name(*(row[f"submitted_by__{f}"] for f in _PERSON))
            sub["reviewed_by"] = display_name(*(row[f"reviewed_by__{f}"] for f in _PERSON))
            sub["deliverables"] = []
            sub["checks"] = []
            by_id[row["id"]] = sub
        if row["deliverables__id"] is not None:
            sub["deliverables"].append({f: row[f"deliverables__{f}"] for f in _DELIVERABLE_FIELDS})
    if by_id:
        # Compiled once per connection and number of rounds (core.compiled: building the
        # queryset was ~2,000 Python calls a task page); the dicts values() gave.
        ids = list(by_id)
        for check in compiled.rows(
            ("review_rounds.checks", len(ids)) if len(ids) <= COMPILED_TREE else None,
            CriterionCheck,
            lambda *ids: CriterionCheck.objects.filter(submission_id__in=ids).order_by(
                "submission_id", "position", "id"
            ),
            ids,
        ):
            by_id[check.submission_id]["checks"].append({f: getattr(check, f) for f in _CHECK_FIELDS})
    return list(by_id.values())


def staged_uploads(user, task: Task, ids) -> list[StagedUpload]:
    """The files `user` chose on the submit form of `task` and that are still kept, of
    `ids` as posted (strings; others ignored), oldest first: only the person's own, of that
    task."""
    wanted = [int(x) for x in ids if str(x).isdigit() and 0 < int(x) < 2**63]
    if not wanted:
        return []
    return list(StagedUpload.objects.filter(pk__in=wanted, owner_id=user.pk, task_id=task.pk).order_by("id"))


def access_submission(user, pk) -> Submission:
    """A submission of a task the user may see, or NotFound."""
    try:
        pk_int = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("Submission not found.")) from None
    sub = Submission.objects.filter(pk=pk_int).only("id", "task_id").first()
    if sub is None:
        raise NotFound(_("Submission not found."))
    try:
        access_task(user, sub.task_id)
    except NotFound:
        raise NotFound(_("Submission not found.")) from None
    return Submission.objects.select_related("task", "task__department", "submitted_by", "reviewed_by").get(
        pk=pk_int
    )


def access_deliverable(user, pk) -> Deliverable:
    """A stored file of a submission of a task the user may see, or NotFound."""
    try:
        pk_int = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("File not found.")) from None
    d = Deliverable.objects.select_related("submission").filter(pk=pk_int, kind="file").first()
    if d is None:
        raise NotFound(_("File not found."))
    try:
        access_task(user, d.submission.task_id)
    except NotFound:
        raise NotFound(_("File not found.")) from None
    return d


def rework_banner(task: Task) -> Submission | None:
    """The latest attempt when it was sent back and not yet resubmitted (the task is 返工)."""
    if task.status != Status.REWORK:
        return None
    return (
        Submission.objects.filter(task=task, verdict=Verdict.REWORK)
        .prefetch_related(Prefetch("checks", queryset=CriterionCheck.objects.order_by("position")))
        .select_related("reviewed_by")
        .order_by("-attempt")
        .first()
    )


def retrospective_of(user, task_id) -> Retrospective | None:
    task = access_task(user, task_id)
    return Retrospective.objects.select_related("author", "edited_by").filter(task=task).first()


# -- knowledge base ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KnowledgeFilters:
    q: str = ""
    tag: str = ""
    task_type: str = ""
    customer: int | None = None
    project: int | None = None
    department: int | None = None


def visible_task_q(user, prefix: str = "task__") -> Q:
    """ "Its task is visible to `user`" on a row joined to its task: the same rule as
    `Task.objects.visible_to` (`tasks.selectors.visibility`), on the joined columns. A
    `task IN (visible tasks)` subquery beside the full-text match made SQLite scan tens of
    thousands of rows per match."""
    v = visibility(user)
    q = Q(**{f"{prefix}department_id__in": v.departments}) | Q(**{f"{prefix}id__in": v.ids})
    for path in v.subtrees:
        q |= subtree_q(path, field=f"{prefix}path")
    return q


def visible_retrospectives(user) -> QuerySet[Retrospective]:
    """The retrospectives of tasks `user` may see (the `visibility` rule on the lesson's own
    department and task columns). Memoised on the user for the request, as `visibility` is:
    the knowledge page filters it twice (the search, the tags in use), and resolving a clause
    of a few hundred task ids costs ~2,000 Python calls each time; kept while the person's
    visibility is (`forget_visibility` renews it). Callers chain on it (`filter`, `order_by`
    clone), never evaluate it as it is."""
    v = None if user.is_superuser else visibility(user)
    cached = getattr(user, "_closeloop_visible_retrospectives", None)
    # Kept while the person's visibility is the same object (`forget_visibility` drops it).
    if cached is not None and cached[0] is v:
        return cached[1]
    qs = Retrospective.objects.all()
    if v is not None:
        q = Q(department_id__in=v.departments) | Q(task_id__in=v.ids)
        if v.subtrees:
            # The subtasks under the person's tasks elsewhere as a subquery of task ids, not
            # a join: joined, PostgreSQL checked every match of a frequent search against its
            # task (10,000 look-ups for 跨部门 资源 over 50,000 lessons, 31 ms); as a
            # subquery it is one filter on the matches (13 ms).
            subtrees = Q()
            for path in v.subtrees:
                subtrees |= subtree_q(path)
            q |= Q(task_id__in=Task.objects.filter(subtrees).values("id"))
        qs = qs.filter(q)
    user._closeloop_visible_retrospectives = (v, qs)
    return qs


KNOWLEDGE_COUNT_CAP = 200  # ten pages of 20; past that, narrow the search

# What a lesson's card (and the API's item) shows: read as plain values for the page's ids
# only — model instances of a lesson, its task, department, customer, project and author cost
# ~800 Python calls per card, more than the search itself.
LESSON_FIELDS = (
    "id",
    "task_id",
    "what_worked",
    "to_improve",
    "tags",
    "minutes_link",
    "created_at",
    "updated_at",
    "task__code",
    "task__title",
    "task__task_type",
    "task__department_id",
    "task__department__code",
    "task__department__name",
    "task__customer__name",
    "task__project__name",
    "author_id",
    "author__username",
    "author__name",
    "author__first_name",
    "author__last_name",
    "edited_by_id",
    "edited_by__username",
    "edited_by__name",
    "edited_by__first_name",
    "edited_by__last_name",
    "edited_at",
    "version",
)


def knowledge(user, filters: KnowledgeFilters, *, loose: bool = False) -> QuerySet[Retrospective]:
    """Every retrospective the reader may see, newest written first, searched with the
    task-search rule (every token: words and CJK bigrams; full-width input folded) and
    filtered. Paginate it on ids (`knowledge_page`, or the page's paginator) and load the
    page's rows with `lessons`.

    Ordered by id, which grows with the time a lesson is written (`created_at` is set on
    insert): the primary key is the full-text index's rowid, so SQLite walks the matches of
    the FTS5 table newest first and stops after a page, and PostgreSQL walks the primary key
    backwards checking the stored tsvector — neither sorts every match (see `search.search`)."""
    qs = visible_retrospectives(user)
    if filters.tag:
        qs = qs.filter(tags_text__contains="," + search.normalise(filters.tag).strip().lstrip("#") + ",")
    if filters.task_type:
        qs = qs.filter(task__task_type=filters.task_type)
    if filters.customer:
        qs = qs.filter(task__customer_id=filters.customer)
    if filters.project:
        qs = qs.filter(task__project_id=filters.project)
    if filters.department:
        qs = qs.filter(department_id=filters.department)
    if filters.q.strip():
        return search.search(qs, connection.vendor, filters.q, loose=loose)
    return qs.order_by("-id")


def knowledge_search(user, filters: KnowledgeFilters) -> tuple[QuerySet[Retrospective], bool]:
    """`knowledge`, falling back to the loose match when the phrase as written finds nothing:
    a search of a CJK run of four or more characters ("合同模板预审") that no lesson holds side
    by side finds the lessons holding each of its words (合同, 模板, 预审) anywhere
    (`search.search(loose=True)`). Returns (the lessons, whether they are the loose match).
    One more query (an EXISTS) only for such a search."""
    qs = knowledge(user, filters)
    if filters.q.strip() and search.loosens(filters.q) and not qs.exists():
        return knowledge(user, filters, loose=True), True
    return qs, False


def lessons(ids: list[int]) -> list[dict]:
    """The lessons of `ids` (already authorized: found through `knowledge`) in that order, as
    dicts of LESSON_FIELDS (`task__customer__name` / `task__project__name` are None when the
    task has none). One query by key."""
    if not ids:
        return []
    rows = Retrospective.objects.filter(pk__in=ids).order_by().values(*LESSON_FIELDS)
    by_id = {r["id"]: r for r in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


def newest_ids(qs: QuerySet[Retrospective], cap: int | None = None) -> list[int]:
    """The ids of the newest `cap` + 1 rows of `knowledge(...)` (`cap` KNOWLEDGE_COUNT_CAP by
    default): every page a reader can reach and the bounded count (its length) in one query. The database walks the
    matches newest first and stops there; a separate `COUNT(*) … LIMIT 201` let PostgreSQL
    gather every match of a frequent word through the index first (~11 ms at 50,000 lessons)."""
    cap = KNOWLEDGE_COUNT_CAP if cap is None else cap
    return list(qs.values_list("pk", flat=True)[: cap + 1])


def knowledge_page(user, filters: KnowledgeFilters, *, offset: int, limit: int):
    """One page of `knowledge`: (rows, count, capped), rows as `lessons` dicts; the count stops
    at KNOWLEDGE_COUNT_CAP (`capped` is True when more match). Within the newest
    KNOWLEDGE_COUNT_CAP + 1 rows, two queries (`newest_ids`, `lessons`); past them the page's
    ids, the count (skipped on a last page, whose length tells it) and the rows."""
    from closeloop.core.pagination import bounded_count

    qs, _loose = knowledge_search(user, filters)
    if offset + limit <= KNOWLEDGE_COUNT_CAP + 1:
        ids = newest_ids(qs)
        n = len(ids)
        ids = ids[offset : offset + limit]
    else:
        ids = list(qs.values_list("pk", flat=True)[offset : offset + limit])
        n = offset + len(ids) if ids and len(ids) < limit else bounded_count(qs, KNOWLEDGE_COUNT_CAP)
    return lessons(ids), min(n, KNOWLEDGE_COUNT_CAP), n > KNOWLEDGE_COUNT_CAP


def similar_lessons(
    user,
    *,
    title: str,
    customer_id: int | None = None,
    project_id: int | None = None,
    task_type: str = "",
    department_id: int | None = None,
    limit: int = 3,
) -> list[Retrospective]:
    """Lessons of the most similar past tasks the person may see: title words and bigrams in
    common (through the index, any token), the same customer, project, type or department.
    Scores at most 60 candidates in Python; two queries."""
    visible = visible_retrospectives(user)
    cond = search.match_any(connection.vendor, title)
    by_field = Q()
    if customer_id:
        by_field |= Q(task__customer_id=customer_id)
    if project_id:
        by_field |= Q(task__project_id=project_id)
    if cond is None and not by_field:
        return []
    candidates = list(
        visible.filter(cond if cond is not None else Q(pk__in=[]))
        .select_related("task", "task__department", "task__customer", "task__project")
        .order_by("-created_at")[:40]
    )
    if by_field:
        seen = {c.pk for c in candidates}
        candidates += [
            c
            for c in visible.filter(by_field)
            .select_related("task", "task__department", "task__customer", "task__project")
            .order_by("-created_at")[:20]
            if c.pk not in seen
        ]
    wanted = set(search.task_search.tokens(search.normalise(title)))
    scored = []
    for r in candidates:
        have = set(search.task_search.tokens(r.task.title)) | set(r.search_text.split())
        title_overlap = len(wanted & set(search.task_search.tokens(r.task.title)))
        score = 2 * title_overlap + len(wanted & have) * 0.5
        if customer_id and r.task.customer_id == customer_id:
            score += 4
        if project_id and r.task.project_id == project_id:
            score += 4
        if task_type and r.task.task_type == task_type:
            score += 1
        if department_id and r.task.department_id == department_id:
            score += 0.5
        if score >= 2:
            scored.append((score, r.created_at, r))
    scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
    return [r for _s, _t, r in scored[:limit]]


def tags_in_use(user, limit: int = 30) -> list[str]:
    """The tags of the reader's 300 newest visible lessons, most used first, then by name (one
    query, on the short `tags_text` column: no JSON to decode per row). The column is read
    with the cursor and counted with a Counter: per-row ORM iteration and splitting were a
    tenth of the knowledge page."""
    qs = visible_retrospectives(user).order_by("-id").values_list("tags_text")[:300]
    sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    with connections[qs.db].cursor() as cur:
        cur.execute(sql, params)
        texts = cur.fetchall()
    counts = Counter(",".join(text or "" for (text,) in texts).split(","))
    counts.pop("", None)
    return [t for t, _n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:limit]]


# -- quality figures (read by insights) --------------------------------------------------------


@dataclass(frozen=True)
class Quality:
    accepted: int
    first_pass: int
    attempts: int

    @property
    def first_pass_rate(self) -> float | None:
        return self.first_pass / self.accepted if self.accepted else None

    @property
    def average_attempts(self) -> float | None:
        return self.attempts / self.accepted if self.accepted else None


def quality_by(user, *, group: str, since=None, until=None, department_ids=None) -> dict[int, Quality]:
    """First-pass acceptance rate and average attempts of accepted tasks the person may see,
    per owner (`group="owner"`: who submitted the accepted attempt, the task's owner then —
    only the owner submits) or per department (`group="department"`), keyed by id. A task
    counts once, by its accepted attempt; `since`/`until` bound the acceptance time (aware
    datetimes); `department_ids` (ids) the departments counted. One query.

    Read through the partial `submission_dept_accepted_by` index (department, reviewed_at,
    submitted_by, attempt) of accepted attempts, on the submission's own copy of its
    department: the window's acceptances of those departments only, from the index alone.
    Through the task's department SQLite walked every task of the company by owner, and both
    databases every task the department ever had (issue 16)."""
    qs = Submission.objects.filter(verdict=Verdict.ACCEPTED)
    # Who sees the departments whole needs no visibility clause: its OR (department, or ids,
    # or subtrees) keeps PostgreSQL from reaching tasks through the submissions of the
    # window, and it hashed every task of the department instead (issue 16). Decided on the
    # memoised department scopes (`visibility`'s own `departments`), so the person's tasks
    # elsewhere are not read for nothing: 仪表盘 and 周复盘 one or two queries fewer.
    whole = department_ids is not None and visible_department_ids(user).issuperset(department_ids)
    if not user.is_superuser and not whole:
        v = visibility(user)
        visible = Q(department_id__in=v.departments) | Q(task_id__in=v.ids)
        for path in v.subtrees:
            visible |= subtree_q(path, field="task__path")
        qs = qs.filter(visible)
    if department_ids is not None:
        qs = qs.filter(department_id__in=list(department_ids))
    if since is not None:
        qs = qs.filter(reviewed_at__gte=since)
    if until is not None:
        qs = qs.filter(reviewed_at__lt=until)
    # The owner is who submitted the accepted attempt (only the owner submits, `may_submit`):
    # read from the covering `submission_dept_accepted_by` index, where looking the task up
    # for its owner cost a row per acceptance (PostgreSQL 12 ms for a department's four weeks,
    # 4,600 acceptances; 39 ms for two departments; issue 16). COUNT(*) and COUNT(attempt), not
    # COUNT(id): PostgreSQL's index lacks the id, and naming it visited every row (bench s5, a
    # specialist's two departments, 9,349 acceptances: 9,390 → 73 buffers, 6.8 → 2.8 ms).
    # Grouped by `column + 0`: by the bare column SQLite walked the whole table along the
    # column's own index for the grouping's order (bench s5, 55,597 submissions: 68 ms for a
    # specialist's two departments, 6.5 ms by the window's range and a sort of ~9,000 keys).
    # A literal 0, not a parameter: with server-side binding the SELECT's and the GROUP BY's
    # would be two parameters, and PostgreSQL would refuse the grouping.
    column = F({"owner": "submitted_by_id", "department": "department_id"}[group])
    key = Func(column, template="(%(expressions)s + 0)", output_field=IntegerField())
    rows = (
        qs.order_by()
        .annotate(key=key)
        .values("key")
        .annotate(
            accepted=Count("*"), first_pass=Count("attempt", filter=Q(attempt=1)), attempts=Sum("attempt")
        )
    )
    return {
        row["key"]: Quality(
            accepted=row["accepted"], first_pass=row["first_pass"], attempts=row["attempts"] or 0
        )
        for row in rows
    }
