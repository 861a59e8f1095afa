"""Sort and paginate list pages the same way everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PAGE_SIZE = 30


@dataclass(frozen=True)
class SortColumn:
    key: str
    label: str
    active: bool
    descending: bool
    query: str  # the query string that sorts by this column (toggling direction)


@dataclass(frozen=True)
class Listing:
    page: Page[Any]
    sort: str
    columns: dict[str, SortColumn]
    querystring: str  # current filters without page, for pagination links


def listing(
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    sortable: Mapping[str, tuple[str, str]],
    default_sort: str,
    page_size: int = PAGE_SIZE,
) -> Listing:
    """Sort ``queryset`` by the ``sort`` parameter (a key of ``sortable``, ``-`` for descending)
    and return the requested page. ``sortable`` maps key → (label, ORM field)."""
    requested = request.GET.get("sort", default_sort)
    key = requested.lstrip("-")
    if key not in sortable:
        requested, key = default_sort, default_sort.lstrip("-")
    descending = requested.startswith("-")
    field = sortable[key][1]
    ordered = queryset.order_by(f"-{field}" if descending else field, "pk")
    try:
        number = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        number = 1
    paginator = Paginator(ordered, page_size)
    page = paginator.get_page(number)
    params = request.GET.copy()
    params.pop("page", None)
    columns = {}
    for column_key, (label, _field) in sortable.items():
        active = column_key == key
        next_sort = column_key if not active or descending else f"-{column_key}"
        sort_params = params.copy()
        sort_params["sort"] = next_sort
        columns[column_key] = SortColumn(
            key=column_key,
            label=label,
            active=active,
            descending=descending and active,
            query=sort_params.urlencode(),
        )
    return Listing(page=page, sort=requested, columns=columns, querystring=params.urlencode())
