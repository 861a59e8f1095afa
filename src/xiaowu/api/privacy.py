"""Who may read the special-group fields of a student record through the API.

留守儿童, 随迁子女, 残疾, 孤儿, 建档立卡/低保 and 健康状况 are sensitive personal information
(security.md PRIV): the API returns them only for students of schools where the caller holds
``students.manage`` or ``pii.unmask`` (the permission is held at the school or at a unit above
it, as ``accounts.scoping.has_perm_at`` decides). For everyone else the fields are ``null``,
and filtering by such a group is refused, so that membership of a group cannot be inferred
from a filtered list either. ID and phone numbers are masked for every caller; the API offers
no unmasking.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.org.models import OrgUnit, UnitKind

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

# Special groups (keys of ``students.selectors.SPECIAL_GROUPS``) that are not sensitive.
PUBLIC_GROUPS = frozenset({"boarding"})
# Permissions that open the special-group fields.
SPECIAL_GROUP_PERMS = (Perm.STUDENTS_MANAGE, Perm.PII_UNMASK)

_CACHE_ATTR = "_xiaowu_api_special_group_schools"
_EVERY_SCHOOL = "every school"


def special_group_schools(actor: User) -> frozenset[int] | None:
    """Return the ids of the schools whose students' special groups the actor may read.

    ``None`` means every school (a global administrator). Computed once per user object,
    i.e. once per request, like the scope itself.
    """
    cached: Any = getattr(actor, _CACHE_ATTR, None)
    if cached is not None:
        return None if cached == _EVERY_SCHOOL else frozenset(cached)
    scope = scope_for(actor)
    result: frozenset[int] | None
    if scope.is_global:
        result = None
    else:
        roots: set[int] = set()
        for perm in SPECIAL_GROUP_PERMS:
            roots |= scope.roots_with_perm(perm)
        result = (
            frozenset(
                OrgUnit.objects.filter(
                    pk__in=unit_subtree(roots), kind=UnitKind.SCHOOL
                ).values_list("pk", flat=True)
            )
            if roots
            else frozenset()
        )
    setattr(actor, _CACHE_ATTR, _EVERY_SCHOOL if result is None else result)
    return result


def may_read_special_groups(actor: User, school_id: int) -> bool:
    schools = special_group_schools(actor)
    return schools is None or school_id in schools
