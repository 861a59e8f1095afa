"""Expected access to the staff pages (one entry per named route).

Staff files follow the organisational scope: holders of 教职工查看 (leaders, 副校长, 处室主任,
级部主任, 教研组长) see the first school's files; teachers and 值周教师 can reach them but lack
the permission (403); a 家长 and users of other schools answer 404.
"""

from __future__ import annotations

from typing import Any

from conftest import World

from tests.access.common import ANON_LOGIN, LEADERS, OUTSIDERS, VIEWERS, Route, expect
from xiaowu.org.tests.factories import TermFactory
from xiaowu.staff.models import StaffMember
from xiaowu.staff.services import teaching_assignment_create

STAFF_VIEWERS = [*VIEWERS, "principal2"]  # hold 教职工查看 somewhere
STAFF_MANAGERS = [*LEADERS, "office"]  # hold 教职工管理 in the first school
NOT_IN_SCOPE = ["parent", *OUTSIDERS]


def _first_school_staff(w: World) -> dict[str, Any]:
    return {"staff_id": StaffMember.objects.get(org_unit=w.school, name="孙老师").pk}


def _first_school_staff_mobile(w: World) -> dict[str, Any]:
    return {**_first_school_staff(w), "field": "mobile"}


def _assignment(w: World) -> dict[str, Any]:
    assignment = teaching_assignment_create(
        actor=w.users["admin"],
        staff=StaffMember.objects.get(org_unit=w.school, name="孙老师"),
        school_class=w.class_a,
        term=TermFactory(),
        role="subject_teacher",
        subject="语文",
    )
    return {"assignment_id": assignment.pk}


def _manage_page(method: str, kwargs: Any, ok: int = 200) -> Route:
    return Route(
        method,
        kwargs,
        expect={**ANON_LOGIN, **expect((STAFF_MANAGERS, ok), (NOT_IN_SCOPE, 404))},
    )


ACCESS: dict[str, Route] = {
    "staff:list": Route("get", expect={**ANON_LOGIN, **expect((STAFF_VIEWERS, 200))}),
    "staff:create": Route(
        "get", expect={**ANON_LOGIN, **expect(([*STAFF_MANAGERS, "principal2"], 200))}
    ),
    "staff:detail": Route(
        "get",
        _first_school_staff,
        expect={**ANON_LOGIN, **expect((VIEWERS, 200), (NOT_IN_SCOPE, 404))},
    ),
    "staff:update": _manage_page("get", _first_school_staff),
    "staff:status_create": _manage_page("get", _first_school_staff),
    "staff:honour_create": _manage_page("get", _first_school_staff),
    "staff:assignment_create": _manage_page("get", _first_school_staff),
    "staff:assignment_delete": _manage_page("post", _assignment, ok=302),
    "staff:unmask": Route(
        "post",
        _first_school_staff_mobile,
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (NOT_IN_SCOPE, 404))},
    ),
}
