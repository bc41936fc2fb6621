"""@mentions in text written the way Chinese users write it.

Chinese has no spaces between words, so `@李娜请确认预算` and `麻烦@李娜 确认` cannot be split on
a word boundary: a mention is the *longest known* name or username right after the `@`,
among the people the caller allows (those who may see the task). Nothing else is a mention,
so only what reaches someone is highlighted.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Q

from closeloop.orgs.models import User

# The longest handle looked for after an `@` (names and usernames are shorter).
MAX_HANDLE = 40
# At most this many `@` in one text are resolved (a pasted list of 500 @s is not 500 look-ups).
MAX_MENTIONS = 20
# An `@` right after one of these is part of an e-mail address or a word ("a@b.com"), not a
# mention; an `@` after a Chinese character or punctuation is ("麻烦@李娜").
_ASCII_WORD = re.compile(r"[A-Za-z0-9_.\-+]")


@dataclass(frozen=True)
class Mention:
    start: int  # index of the "@" in the text
    end: int  # index after the handle
    handle: str  # the name or username as typed
    people: tuple[User, ...]  # usually one; two colleagues of the same name are both told


def _at_positions(text: str) -> list[int]:
    out = []
    for i, ch in enumerate(text):
        if ch not in "@＠":
            continue
        if i and (_ASCII_WORD.match(text[i - 1]) or text[i - 1] in "@＠"):
            continue
        out.append(i)
        if len(out) >= MAX_MENTIONS:
            break
    return out


def _ends_cleanly(text: str, end: int, handle: str) -> bool:
    """A handle ending in a Latin letter or digit must not run on into more of them: `@lina`
    is not a mention inside `@lina2`. A Chinese name needs no boundary (`@李娜请确认`)."""
    if end >= len(text) or not _ASCII_WORD.match(handle[-1]):
        return True
    return not re.match(r"[A-Za-z0-9_]", text[end])


def find_mentions(text: str, *, allowed: Callable[[User], bool]) -> list[Mention]:
    """Every @mention in `text` (str, any length; NFKC-normalized for matching, so `＠李娜`
    counts): for each `@` not inside an e-mail address, the longest active person's `name` or
    `username` that the text continues with and for whom `allowed(person)` is true (the
    caller's visibility rule). One query for the candidates plus whatever `allowed` costs.
    Returns mentions in text order; one person may appear in more than one."""
    text = unicodedata.normalize("NFKC", text or "")
    positions = _at_positions(text)
    if not positions:
        return []
    prefixes: set[str] = set()
    for at in positions:
        tail = text[at + 1 : at + 1 + MAX_HANDLE]
        prefixes.update(tail[:n] for n in range(1, len(tail) + 1) if not tail[n - 1].isspace())
    prefixes.discard("")
    if not prefixes:
        return []
    candidates = list(
        User.objects.filter(Q(username__in=prefixes) | Q(name__in=prefixes), is_active=True).order_by("pk")
    )
    verdict: dict[int, bool] = {}

    def ok(person: User) -> bool:
        if person.pk not in verdict:
            verdict[person.pk] = bool(allowed(person))
        return verdict[person.pk]

    by_handle: dict[str, list[User]] = {}
    for person in candidates:
        for handle in {person.username, person.name}:
            if handle and handle in prefixes:
                by_handle.setdefault(handle, []).append(person)
    found: list[Mention] = []
    for at in positions:
        tail = text[at + 1 : at + 1 + MAX_HANDLE]
        for n in range(len(tail), 0, -1):
            handle = tail[:n]
            people = [p for p in by_handle.get(handle, []) if ok(p)]
            if people and _ends_cleanly(text, at + 1 + n, handle):
                found.append(Mention(start=at, end=at + 1 + n, handle=handle, people=tuple(people)))
                break
    return found


def people_of(mentions: Iterable[Mention]) -> list[User]:
    """The distinct people mentioned, in order of first mention."""
    seen: dict[int, User] = {}
    for m in mentions:
        for person in m.people:
            seen.setdefault(person.pk, person)
    return list(seen.values())
