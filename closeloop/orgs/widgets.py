"""People pickers that never list the whole company.

A picker is a native <select> (phones, keyboards and screen readers know it) holding only the
chosen person(s) and a short list of suggestions, with a search box that asks the server for
matches as one types (htmx, `people_search`) and swaps the options in place, keeping the chosen
ones. The form posts the same name and value a full <select> would, and the field still
validates against every active person: a ModelChoiceField looks up only the chosen id, and
these widgets never iterate its queryset.
"""

import json
from collections.abc import Iterable

from django import forms
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from closeloop.core.ids import parse_id
from closeloop.core.searchbox import SEARCH_MAX
from closeloop.core.templatetags.closeloop_ui import icon
from closeloop.orgs import selectors
from closeloop.orgs.models import User

# Parameters of the search endpoint; a picker's own field name may not be one of them.
SEARCH_PARAMS = frozenset({"q", "field", "blank", "suggest"})


def person_label(user: User) -> str:
    return f"{user.display_name} · {user.username}"


def people_options(
    *,
    chosen: Iterable[User],
    offered: Iterable[User] = (),
    blank: str | None = None,
    group: str | None = None,
) -> SafeString:
    """A picker's <option>s: the empty choice (when the field has one), the chosen people
    (selected), then the offered ones under a heading."""
    chosen = list(chosen)
    ids = {u.pk for u in chosen}
    rest = [u for u in offered if u.pk not in ids]
    parts = []
    if blank is not None:
        parts.append(format_html('<option value="">{}</option>', blank))
    parts.append(
        format_html_join(
            "", '<option value="{}" selected>{}</option>', ((u.pk, person_label(u)) for u in chosen)
        )
    )
    if rest:
        inner = format_html_join(
            "", '<option value="{}">{}</option>', ((u.pk, person_label(u)) for u in rest)
        )
        parts.append(format_html('<optgroup label="{}">{}</optgroup>', group or _("Suggestions"), inner))
    return mark_safe("".join(parts))  # noqa: S308 - every part went through format_html


class PeopleSuggestions:
    """Whom the pickers of one page offer before anyone types: the active members of
    `department_ids` (at most `limit`, by name), or the `people` the page chose itself. Loaded
    on first render, once for every picker that shares it. `known` are people the page has
    loaded anyway (the task's owner): showing them as chosen then costs no query."""

    def __init__(
        self,
        *,
        department_ids: Iterable[int] = (),
        people: Iterable[User] | None = None,
        known: Iterable[User | None] = (),
        limit: int = selectors.PEOPLE_SUGGESTION_LIMIT,
    ):
        self.department_ids = frozenset(department_ids)
        self.limit = limit
        self._given = None if people is None else [u for u in people if u.is_active][:limit]
        self.known = {u.pk: u for u in known if u is not None and u.is_active}

    @cached_property
    def people(self) -> list[User]:
        if self._given is not None:
            return self._given
        return selectors.people_suggestions(department_ids=self.department_ids, limit=self.limit)

    def lookup(self) -> dict[int, User]:
        return {**self.known, **{u.pk: u for u in self.people}}


_NO_BLANK = object()


def parse_ids(values: Iterable, limit: int = 100) -> list[int]:
    """Ids from posted or typed values, in order, without repeats or junk, at most `limit`."""
    out: list[int] = []
    for v in values:
        pk = parse_id(v)  # ASCII digits within the database's range: "9" * 30 overflowed it
        if pk is not None and pk not in out:
            out.append(pk)
            if len(out) == limit:
                break
    return out


class PersonPicker(forms.Select):
    """One person. Set `suggestions` (a `PeopleSuggestions`) for what to offer up front; the
    field (PersonChoiceField) gives the empty choice's label and the queryset that chosen ids
    are looked up in. Used without a field, pass `blank` for the empty choice. `inline` puts
    the search box beside the list, for a filter bar or a row of a table."""

    def __init__(
        self,
        attrs=None,
        *,
        suggestions: PeopleSuggestions | None = None,
        blank=_NO_BLANK,
        inline: bool = False,
    ):
        super().__init__(attrs)
        self.suggestions = suggestions
        self.blank = blank
        self.inline = inline

    def _field(self):
        return getattr(self.choices, "field", None)

    def _blank(self) -> str | None:
        if self.allow_multiple_selected:
            return None
        if self.blank is not _NO_BLANK:
            return self.blank
        field = self._field()
        return getattr(field, "empty_label", None)

    def _chosen(self, ids: list[int], offered: list[User]) -> list[User]:
        if not ids:
            return []
        field = self._field()
        # People the form cleaned already, those on the page, the suggestions: no query for them.
        found = dict(self.suggestions.lookup()) if self.suggestions else {}
        found.update(getattr(field, "picked", None) or {})
        missing = [pk for pk in ids if pk not in found]
        if missing:
            queryset = getattr(self.choices, "queryset", None)
            if queryset is None:
                queryset = User.objects.filter(is_active=True)
            rows = queryset.filter(pk__in=missing).order_by().only(*selectors.PICKER_FIELDS)
            found.update({u.pk: u for u in rows})
        return [found[pk] for pk in ids if pk in found]

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        final.setdefault("id", f"id_{name}")
        if self.allow_multiple_selected:
            final["multiple"] = True
        offered = self.suggestions.people if self.suggestions else []
        chosen = self._chosen(parse_ids(self.format_value(value)), offered)
        blank = self._blank()
        options = people_options(chosen=chosen, offered=offered, blank=blank)
        select_id = final["id"]
        search_vals = {"field": name}
        if blank is not None:
            search_vals["blank"] = str(blank)
        if offered:
            search_vals["suggest"] = ",".join(str(u.pk) for u in offered)
        # The search box belongs to no form (form="" names none): its text is not posted with
        # the form, Enter in it submits nothing, and htmx sends it as `q` on its own. It takes
        # nothing from an htmx form around it (the list's filters push their URL, for one).
        # Rendered hidden: without JavaScript it could only do nothing, so app.js shows it
        # when htmx is there; the list then holds the chosen person and the suggestions.
        search = format_html(
            '<span class="picker__search" hidden>{}<input type="search" name="q" form="" id="{}_q"'
            ' autocomplete="off" enterkeyhint="search" maxlength="{}" placeholder="{}" aria-label="{}"'
            ' aria-controls="{}"'
            ' hx-get="{}" hx-trigger="input changed delay:250ms, search" hx-sync="this:replace"'
            ' hx-target="#{}" hx-swap="innerHTML" hx-include="#{}" hx-vals="{}"'
            ' hx-push-url="false" hx-replace-url="false" hx-select="unset" hx-select-oob="unset"'
            ' hx-confirm="unset" hx-params="*" hx-disabled-elt="unset" hx-indicator="unset"></span>'
            # What the search found, said where the eyes are (the list itself stays closed).
            '<span class="picker__status" id="{}_status" aria-live="polite"></span>',
            icon("search"),
            select_id,
            SEARCH_MAX,
            _("Name or username") if self.inline else _("Find someone else: name or username"),
            _("Search people"),
            select_id,
            reverse("people_search"),
            select_id,
            select_id,
            json.dumps(search_vals, ensure_ascii=False),
            select_id,
        )
        return format_html(
            '<div class="picker{}{}"><select{}>{}</select>{}</div>',
            " picker--multiple" if self.allow_multiple_selected else "",
            " picker--inline" if self.inline else "",
            flatatt(final),
            options,
            search,
        )


class PeoplePicker(PersonPicker, forms.SelectMultiple):
    """Several people (collaborators): the same picker over a <select multiple>."""
