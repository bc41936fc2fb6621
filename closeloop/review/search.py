"""The knowledge base's index: the same words-plus-CJK-bigrams rule as task search
(`closeloop.tasks.search`), over `Retrospective.search_text` — an FTS5 table kept in step by
triggers on SQLite; on PostgreSQL a stored generated column `search_vector`
(= to_tsvector('simple', search_text), not a model field: Django never writes it) with a GIN
index. `search()` applies the knowledge search (every query token) newest first;
`match_any()` needs one token (similar past tasks, ranked after).

Why a stored tsvector and not an expression index: beside the reader's departments the
planner walks the primary key backwards filtering each row, and with an expression index
that filter parses `search_text` again per row — counting the matches of a frequent word
(报表, 50,000 lessons) took 390 ms; on the stored column the same plan takes under 1 ms
for a page and 8 ms for the bounded count (the planner then intersects the GIN and the
department index)."""

# SQL below is built only from this module's constant names; user text is always a bound
# parameter, and tokens hold only letters, digits and CJK characters.
# ruff: noqa: S608, S611
import unicodedata

from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from closeloop.tasks import search as task_search

TABLE = "review_retrospective"
FTS_TABLE = "review_retrospective_fts"
PG_INDEX = "retrospective_vector_gin"
PG_OLD_INDEX = "retrospective_search_gin"  # the expression index it replaces


def normalise(text: str) -> str:
    """Full-width input (ＢＩ报表, ９５％) reads as its half-width form."""
    return unicodedata.normalize("NFKC", text or "")


def index_text(*, task, what_worked: str, to_improve: str, tags: list[str]) -> str:
    return task_search.index_text(
        task.code,
        f"{task.department.code}-{task.code}",
        task.title,
        task.customer.name if task.customer_id else "",
        task.project.name if task.project_id else "",
        normalise(what_worked),
        normalise(to_improve),
        " ".join(normalise(t) for t in tags),
    )


def _groups(text: str, loose: bool) -> list:
    """What a lesson must hold: the task-search rule (`tasks.search.search_groups`), or with
    `loose` the run's words anywhere (`loose_groups`: "合同模板预审" → 合同 模板 预审)."""
    return task_search.search_groups(normalise(text), loose=loose)


def loosens(text: str) -> bool:
    """Would the loose match ask less than the phrase (a CJK run of four characters or more)?"""
    return task_search.loosens(normalise(text))


def pg_query(text: str, *, loose: bool = False) -> str | None:
    """The tsquery text of a knowledge search: every token, the last latin word and a lone CJK
    character as prefixes (the task-search rule)."""
    groups = _groups(text, loose)
    return task_search.ts_query(groups) if groups else None


def search(queryset, vendor: str, text: str, *, loose: bool = False):
    """`queryset` (of Retrospective) narrowed to rows matching every token of `text`, newest
    (highest id) first; `queryset.none()` when `text` holds nothing searchable (as task
    search: "！？" finds nothing, never everything). `loose`: the words of a long CJK run
    anywhere rather than side by side (`_terms`; the knowledge page falls back to it when the
    phrase as written finds nothing, `selectors.knowledge_search`).

    SQLite: the FTS5 table joins the query and the order is its rowid, descending, so SQLite
    reads the matches newest first and stops after a page (an `id IN (SELECT rowid …)` list
    made it collect every match of 报表, 25,000 rowids, before sorting: 12 → 0.1 ms for a page).
    PostgreSQL: the stored `search_vector` column, a cheap filter on any plan."""
    if vendor == "sqlite":
        groups = _groups(text, loose)
        if not groups:
            return queryset.none()
        query = task_search.fts5_query(groups)
        return queryset.extra(  # noqa: S610  (constant SQL; the query is a bound parameter)
            tables=[FTS_TABLE],
            where=[f"{FTS_TABLE}.rowid = {TABLE}.id", f"{FTS_TABLE} MATCH %s"],
            params=[query],
            order_by=[f"-{FTS_TABLE}.rowid"],
        )
    if vendor == "postgresql":
        query = pg_query(text, loose=loose)
        if query is None:
            return queryset.none()
        cond = RawSQL(
            f"{TABLE}.search_vector @@ to_tsquery('simple', %s)", [query], output_field=BooleanField()
        )
        return queryset.filter(cond).order_by("-id")
    groups = _groups(text, loose)
    if not groups:
        return queryset.none()
    return queryset.filter(task_search.contains_q(groups)).order_by("-id")


def match_any(vendor: str, text: str):
    """At least one token of `text` matches (None when it has none)."""
    toks = list(dict.fromkeys(task_search.tokens(normalise(text))))[:40]
    if not toks:
        return None
    if vendor == "postgresql":
        return RawSQL(
            f"{TABLE}.search_vector @@ to_tsquery('simple', %s)",
            [" | ".join(toks)],
            output_field=BooleanField(),
        )
    if vendor == "sqlite":
        return RawSQL(
            f"{TABLE}.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)",
            [" OR ".join(f'"{t}"' for t in toks)],
            output_field=BooleanField(),
        )
    cond = Q()
    for t in toks:
        cond |= Q(search_text__contains=t)
    return cond


_SQLITE_TRIGGERS = {
    "review_retro_fts_ai": f"""CREATE TRIGGER IF NOT EXISTS review_retro_fts_ai AFTER INSERT ON {TABLE} BEGIN
        INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END""",
    "review_retro_fts_ad": f"""CREATE TRIGGER IF NOT EXISTS review_retro_fts_ad AFTER DELETE ON {TABLE} BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END""",
    "review_retro_fts_au": f"""CREATE TRIGGER IF NOT EXISTS review_retro_fts_au AFTER UPDATE OF search_text ON {TABLE} BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END""",
}


def install(connection) -> None:
    """Create the index if missing (idempotent; runs after every migrate, as tasks' does)."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
            present = {row[0] for row in cur.fetchall()}
            if TABLE not in present:
                return
            missing = FTS_TABLE not in present or any(n not in present for n in _SQLITE_TRIGGERS)
            cur.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
                f"search_text, content='{TABLE}', content_rowid='id')"
            )
            for sql in _SQLITE_TRIGGERS.values():
                cur.execute(sql)
            if missing:
                cur.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        elif connection.vendor == "postgresql":
            cur.execute("SELECT to_regclass(%s)", [TABLE])
            if cur.fetchone()[0] is None:
                return
            cur.execute(
                f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS search_vector tsvector "
                "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_text)) STORED"
            )
            cur.execute(f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON {TABLE} USING GIN (search_vector)")
            cur.execute(f"DROP INDEX IF EXISTS {PG_OLD_INDEX}")
