"""Name search that understands pinyin: "zs", "zhangsan" and "张三" all find 张三."""

from __future__ import annotations

from django.db.models import Q


def name_search(search: str, *, name_field: str = "name", prefix: str = "") -> Q:
    """Return a condition matching ``search`` against a name or its stored pinyin keys.

    Models that support it store ``name_pinyin`` and ``name_initials`` (see ``core.pinyin``).
    ``prefix`` reaches through a relation, e.g. ``prefix="user__"``.
    """
    term = search.strip().lower()
    if not term:
        return Q()
    return (
        Q(**{f"{prefix}{name_field}__icontains": search.strip()})
        | Q(**{f"{prefix}name_pinyin__contains": term})
        | Q(**{f"{prefix}name_initials__contains": term})
    )
