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

# The structural particle 的 joins words ("新功能的客户") but is rarely part of one in a task's
# title (目的 aside): the loose reading drops it and reads the words either side apart.
_LOOSE_BREAK = re.compile("的+")

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
    return _prefix_rule(list(dict.fromkeys(tokens(text))))


Term = tuple[str, bool]  # (token, match as a prefix)


def _prefix_rule(toks: list[str]) -> list[Term]:
    """`query_terms`' rule: a lone CJK character and the last latin word match as prefixes."""
    return [
        (tok, (len(tok) == 1 and bool(_IS_CJK.match(tok))) or (i == len(toks) - 1 and not _IS_CJK.match(tok)))
        for i, tok in enumerate(toks)
    ]


def _every_other_bigram(run: str, offset: int) -> list[Term]:
    """A CJK run's words read as bigrams from `offset` (0 or 1), each other one, the last
    bigram added when the rest is odd; with offset 1 the first character alone, a prefix."""
    head: list[Term] = [(run[0], True)] if offset else []
    rest = run[offset:]
    starts = list(range(0, len(rest) - 1, 2))
    if len(rest) % 2:
        starts.append(len(rest) - 2)
    return head + [(rest[i : i + 2], False) for i in dict.fromkeys(starts)]


def loose_groups(text: str) -> list[list[list[Term]]]:
    """What a text must hold to match `text` loosely, as groups a row must each satisfy, a
    group by any one of its alternatives (lists of terms, all held). Each CJK run of four
    characters or more is one group of two alternatives: its bigrams from the first character
    ("合同模板预审" → 合同 模板 预审, an odd run adding its last bigram) and from the second,
    the first character a prefix ("新功能演示" → 新… 功能 演示, where 新功 能演 演示 asks for 能演,
    which "新功能上线客户演示" does not hold): the run's words found anywhere in the text, not
    only side by side, whether its first word has two characters or one or three. The other
    tokens are one group each, as `query_terms` has them. For a query spanning words a lesson
    or a title wrote apart ("合同模板要提前给法务预审"). A 的 inside a run breaks it first
    (`_LOOSE_BREAK`): "新功能的客户" is 新功能 and 客户, found in "新功能上线客户演示" — as a
    bigram, 能的 or 的客, it matched no title that left it out. A run of 的 alone is kept."""
    plain: list[str] = []
    runs: list[str] = []
    for whole in _RUN.findall(normalize(text)):
        pieces = [p for p in _LOOSE_BREAK.split(whole) if p] if _IS_CJK.match(whole) else [whole]
        for run in pieces or [whole]:
            if _IS_CJK.match(run) and len(run) >= 4:
                runs.append(run)
            else:
                plain.extend(tokens(run))
    groups: list[list[list[Term]]] = [[[term]] for term in _prefix_rule(list(dict.fromkeys(plain)))]
    for run in dict.fromkeys(runs):
        groups.append([_every_other_bigram(run, 0), _every_other_bigram(run, 1)])
    return groups


def _render(groups: list[list[list[Term]]], term, and_: str, or_: str) -> str:
    """Groups as a boolean query: groups ANDed, a group's alternatives ORed, an alternative's
    terms ANDed; parentheses only around what holds more than one (a plain query reads as it
    always did: `"合同" AND "模板"`, `合同 & 模板`)."""

    def alt(terms: list[Term]) -> str:
        text = and_.join(term(t) for t in terms)
        return f"({text})" if len(terms) > 1 else text

    def group(alts: list[list[Term]]) -> str:
        return f"({or_.join(alt(a) for a in alts)})" if len(alts) > 1 else alt(alts[0])

    return and_.join(group(g) for g in groups)


def fts5_query(groups: list[list[list[Term]]]) -> str:
    """`loose_groups` (or `search_groups`) as an FTS5 MATCH expression."""
    return _render(groups, lambda t: f'"{t[0]}"*' if t[1] else f'"{t[0]}"', " AND ", " OR ")


def ts_query(groups: list[list[list[Term]]]) -> str:
    """`loose_groups` (or `search_groups`) as PostgreSQL tsquery text."""
    return _render(groups, lambda t: f"{t[0]}:*" if t[1] else t[0], " & ", " | ")


def contains_q(groups: list[list[list[Term]]], field: str = "search_text"):
    """`loose_groups` as a containment test on `field`, for a database without an index."""
    from django.db.models import Q

    cond = Q()
    for group in groups:
        either = Q()
        for alt in group:
            both = Q()
            for t, _prefix in alt:
                both &= Q(**{f"{field}__contains": t})
            either |= both
        cond &= either
    return cond


def search_groups(text: str, *, loose: bool) -> list[list[list[Term]]]:
    """The groups `text` asks for: `loose_groups`, or `query_terms` one term a group."""
    if loose:
        return loose_groups(text)
    return [[[term]] for term in query_terms(text)]


def loosens(text: str) -> bool:
    """Does `loose_groups` ask less of a text than `query_terms` (a CJK run of four or more,
    or one with a 的 between characters)?"""
    return any(
        _IS_CJK.match(run) and (len(run) >= 4 or bool(_LOOSE_BREAK.search(run.strip("的"))))
        for run in _RUN.findall(normalize(text))
    )


def match_sql(
    vendor: str,
    text: str,
    *,
    table: str = "tasks_task",
    fts_table: str = FTS_TABLE,
    loose: bool = False,
    per_row: bool = False,
) -> RawSQL | None:
    """A WHERE condition "the row of `table` matches `text`" for `vendor`, or None when the
    query has no searchable term (the caller then finds nothing, see `has_terms`). Another app
    indexes its own `search_text` column the same way and names its own FTS5 table
    (`fts_table`, SQLite) — e.g. review's knowledge base. `loose`: the groups of `loose_groups`
    (a long CJK run's words anywhere, the phrase fallback of 知识库 and the task list) instead
    of `query_terms`. `per_row`: the rows the rest of the query selects are few (a list of
    ids): on SQLite each is then looked up in the FTS5 index by its rowid, instead of every
    row matching `text` being listed first — at scale M, a specialist's ~150 tasks elsewhere
    searched for 报表 walked its ~13,800 matches, each looked up in the task table
    (57 → 3 ms). Tokens hold only letters, digits and CJK characters, so they need no
    escaping beyond the parameter binding."""
    groups = search_groups(text, loose=loose)
    if not groups:
        return None
    if vendor == "postgresql":
        return RawSQL(
            f"to_tsvector('simple', {table}.search_text) @@ to_tsquery('simple', %s)",
            [ts_query(groups)],
            output_field=BooleanField(),
        )
    if vendor == "sqlite":
        if per_row:
            return RawSQL(
                f"EXISTS (SELECT 1 FROM {fts_table} WHERE {fts_table}.rowid = {table}.id"
                f" AND {fts_table} MATCH %s)",
                [fts5_query(groups)],
                output_field=BooleanField(),
            )
        return RawSQL(
            f"{table}.id IN (SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH %s)",
            [fts5_query(groups)],
            output_field=BooleanField(),
        )
    # Another database: no index, a plain containment test on the same text.
    return contains_q(groups)  # type: ignore[return-value]


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
