"""Chinese search through an index (DESIGN.md "Chinese search").

A task's code, title, customer and project are NFKC-normalized (full-width `Ｑ３` is `q3`)
and indexed as words plus overlapping CJK bigrams plus the last character of each CJK run
("月度销售报表" → 月度 度销 销售 售报 报表 表), stored in `Task.search_text`: every character
then starts some token, so a one-character query (a prefix match) finds it anywhere in a
title, the end included (`报` finds 编写销售周报). SQLite
indexes that column with an FTS5 table kept in step by triggers; PostgreSQL with a GIN index
over `to_tsvector('simple', search_text)`. A query is tokenised the same way and every token
must match, so a two-character term like 报表 is one index look-up and no search reads every
row. The tokeniser is pure; `install()` and `match_sql()` are the two database-specific parts.
"""

# SQL below is built only from this module's constant table names; user text is always a
# bound parameter.
# ruff: noqa: S608, S611
import re
import unicodedata

from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[0-9a-z]+")
_IS_CJK = re.compile(rf"[{_CJK}]")

FTS_TABLE = "tasks_task_fts"
PG_INDEX = "task_search_gin"


def normalize(text: str | None) -> str:
    """NFKC and lower case: full-width letters and digits (Ｑ３) read as their ASCII forms."""
    return unicodedata.normalize("NFKC", text or "").lower()


def tokens(text: str) -> list[str]:
    """Words (latin letters and digits) and CJK bigrams; a lone CJK character is kept as is."""
    out: list[str] = []
    for run in _RUN.findall(normalize(text)):
        if _IS_CJK.match(run):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def index_text(*parts: str | None) -> str:
    """The indexed form of `parts`: their tokens, plus the last character of each CJK run so
    a one-character prefix query also finds a run's final character."""
    seen: dict[str, None] = {}
    for part in parts:
        for tok in tokens(part or ""):
            seen.setdefault(tok, None)
        for run in _RUN.findall(normalize(part)):
            if len(run) > 1 and _IS_CJK.match(run):
                seen.setdefault(run[-1], None)
    return " ".join(seen)


def has_terms(text: str) -> bool:
    """Does `text` hold anything searchable (a latin word, a digit or a CJK character)? A
    query of punctuation or symbols alone does not, and must find nothing — not everything."""
    return bool(tokens(text))


def task_index_text(
    *, department_code: str, code: str, title: str, customer: str = "", project: str = ""
) -> str:
    return index_text(code, f"{department_code}-{code}", title, customer, project)


def query_terms(text: str) -> list[tuple[str, bool]]:
    """(token, prefix) pairs a query must all match. The last latin word and a lone CJK
    character match as prefixes, so "t00" and "报" find something while typing."""
    toks = list(dict.fromkeys(tokens(text)))
    out = []
    for i, tok in enumerate(toks):
        prefix = (len(tok) == 1 and bool(_IS_CJK.match(tok))) or (
            i == len(toks) - 1 and not _IS_CJK.match(tok)
        )
        out.append((tok, prefix))
    return out


def loose_terms(text: str) -> list[tuple[str, bool]]:
    """`query_terms` with each CJK run of four characters or more covered by every other
    bigram instead of every bigram ("合同模板预审" → 合同 模板 预审, an odd run adding its last
    bigram): the run's words found anywhere in the text, not only side by side. For a query
    spanning words a lesson wrote apart ("合同模板要提前给法务预审"). The same terms as
    `query_terms` when no run is that long (see `loosens`)."""
    toks: list[str] = []
    for run in _RUN.findall(normalize(text)):
        if _IS_CJK.match(run) and len(run) >= 4:
            starts = list(range(0, len(run) - 1, 2))
            if len(run) % 2:
                starts.append(len(run) - 2)
            toks.extend(run[i : i + 2] for i in starts)
        else:
            toks.extend(tokens(run))
    toks = list(dict.fromkeys(toks))
    return [
        (tok, (len(tok) == 1 and bool(_IS_CJK.match(tok))) or (i == len(toks) - 1 and not _IS_CJK.match(tok)))
        for i, tok in enumerate(toks)
    ]


def loosens(text: str) -> bool:
    """Does `loose_terms` ask less of a text than `query_terms` (a CJK run of four or more)?"""
    return any(_IS_CJK.match(run) and len(run) >= 4 for run in _RUN.findall(normalize(text)))


def match_sql(
    vendor: str, text: str, *, table: str = "tasks_task", fts_table: str = FTS_TABLE, loose: bool = False
) -> RawSQL | None:
    """A WHERE condition "the row of `table` matches `text`" for `vendor`, or None when the
    query has no searchable term (the caller then finds nothing, see `has_terms`). Another app
    indexes its own `search_text` column the same way and names its own FTS5 table
    (`fts_table`, SQLite) — e.g. review's knowledge base. `loose`: the terms of `loose_terms`
    (a long CJK run's words anywhere, the phrase fallback of 知识库 and the task list) instead
    of `query_terms`. Tokens hold only letters, digits and CJK characters, so they need no
    escaping beyond the parameter binding."""
    terms = loose_terms(text) if loose else query_terms(text)
    if not terms:
        return None
    if vendor == "postgresql":
        query = " & ".join(f"{t}:*" if prefix else t for t, prefix in terms)
        return RawSQL(
            f"to_tsvector('simple', {table}.search_text) @@ to_tsquery('simple', %s)",
            [query],
            output_field=BooleanField(),
        )
    if vendor == "sqlite":
        query = " ".join(f'"{t}"*' if prefix else f'"{t}"' for t, prefix in terms)
        return RawSQL(
            f"{table}.id IN (SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH %s)",
            [query],
            output_field=BooleanField(),
        )
    # Another database: no index, a plain containment test on the same text.
    from django.db.models import Q

    cond = Q()
    for t, _prefix in terms:
        cond &= Q(search_text__contains=t)
    return cond  # type: ignore[return-value]


_SQLITE_TRIGGERS = {
    "tasks_task_fts_ai": f"""CREATE TRIGGER IF NOT EXISTS tasks_task_fts_ai AFTER INSERT ON tasks_task BEGIN
        INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END""",
    "tasks_task_fts_ad": f"""CREATE TRIGGER IF NOT EXISTS tasks_task_fts_ad AFTER DELETE ON tasks_task BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END""",
    "tasks_task_fts_au": f"""CREATE TRIGGER IF NOT EXISTS tasks_task_fts_au AFTER UPDATE OF search_text ON tasks_task BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END""",
}


def install(connection) -> None:
    """Create the index if it is missing (idempotent). On SQLite, Django rebuilds a table
    for some schema changes and its triggers go with it: this runs after every migrate and
    puts them back, rebuilding the FTS table from the rows when it had to."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
            present = {row[0] for row in cur.fetchall()}
            if "tasks_task" not in present:
                return
            missing = FTS_TABLE not in present or any(name not in present for name in _SQLITE_TRIGGERS)
            cur.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
                "search_text, content='tasks_task', content_rowid='id')"
            )
            for sql in _SQLITE_TRIGGERS.values():
                cur.execute(sql)
            if missing:
                cur.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        elif connection.vendor == "postgresql":
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON tasks_task "
                "USING GIN (to_tsvector('simple', search_text))"
            )


def uninstall(connection) -> None:
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            for name in _SQLITE_TRIGGERS:
                cur.execute(f"DROP TRIGGER IF EXISTS {name}")
            cur.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        elif connection.vendor == "postgresql":
            cur.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
