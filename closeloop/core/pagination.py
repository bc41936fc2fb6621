"""Pagination that sorts only ids.

To show 30 rows of a 4,000-row list, the database must sort all 4,000; sorting wide rows
(titles, notes, joined people) costs several times more than sorting ids. So the page is
found on ids alone, and only its rows are loaded in full.
"""

from django.core.paginator import Page, Paginator
from django.utils.functional import cached_property


def rows_in_order(queryset, ids: list) -> list:
    """Load the rows of `ids`, which were just read from `queryset`, with the queryset's
    joins and deferred columns, in the order given. By key only: the queryset's filters (a person's whole
    visibility clause, say) already chose these ids and need not be compiled again."""
    rows = queryset.model._default_manager.filter(pk__in=ids)
    rows.query.select_related = queryset.query.select_related
    rows.query.deferred_loading = queryset.query.deferred_loading
    by_id = {obj.pk: obj for obj in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


def slice_by_ids(queryset, start: int, stop: int) -> list:
    ids = list(queryset.values_list("pk", flat=True)[start:stop])
    return rows_in_order(queryset, ids)


class IdPaginator(Paginator):
    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(slice_by_ids(self.object_list, bottom, top), number, self)


class CappedIdPaginator(IdPaginator):
    """An IdPaginator whose count stops at `cap`: counting every match of a frequent word
    over tens of thousands of rows costs more than the page itself, and nobody pages through
    hundreds of results — they narrow the search. `count` is at most `cap` (the pages cover the
    newest `cap` rows); `capped` says more matched. One `SELECT COUNT(*) FROM (… LIMIT cap+1)`."""

    def __init__(self, object_list, per_page, *, cap: int, **kwargs) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def _bounded_count(self) -> int:
        return bounded_count(self.object_list, self.cap)

    @cached_property
    def count(self) -> int:
        return min(self._bounded_count, self.cap)

    @property
    def capped(self) -> bool:
        return self._bounded_count > self.cap


def bounded_count(queryset, cap: int) -> int:
    """How many rows `queryset` has, counting no further than `cap + 1` (unordered)."""
    return queryset.order_by()[: cap + 1].count()
