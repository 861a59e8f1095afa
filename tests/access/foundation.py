"""Expected access to the foundation's pages (org, accounts, audit, dashboard)."""

from __future__ import annotations

from typing import Any

from conftest import World

from tests.access.common import (
    ANON_LOGIN,
    IN_FIRST_SCHOOL,
    LEADERS,
    OUTSIDERS,
    VIEWERS,
    Route,
    expect,
)
from xiaowu.accounts.models import RoleAssignment
from xiaowu.accounts.services import api_token_create
from xiaowu.org.models import AllianceKind
from xiaowu.org.services import school_alliance_create


def _first_teacher_id(w: World) -> dict[str, Any]:
    return {"user_id": w.users["teacher"].pk}


def _teacher_assignment(w: World) -> dict[str, Any]:
    assignment = RoleAssignment.objects.get(user=w.users["teacher"])
    return {"assignment_id": assignment.pk}


def _principal_token(w: World) -> dict[str, Any]:
    token, _raw = api_token_create(actor=w.users["principal"], name="脚本")
    return {"token_id": token.pk}


def _alliance(w: World) -> dict[str, Any]:
    alliance = school_alliance_create(
        actor=w.users["admin"],
        owner=w.district,
        code="A1",
        name="青石大学区",
        kind=AllianceKind.DISTRICT_ALLIANCE,
        lead_school=w.school,
        members=[w.school_b],
    )
    return {"alliance_id": alliance.pk}


ACCESS: dict[str, Route] = {
    "healthz": Route("get", expect={"anonymous": 200}, other=200),
    "dashboard:home": Route("get", expect=ANON_LOGIN, other=200),
    "accounts:login": Route("get", expect={"anonymous": 200}, other=302),
    "accounts:logout": Route("post", expect={"anonymous": 302}, other=302),
    "accounts:profile": Route("get", expect=ANON_LOGIN, other=200),
    "accounts:password_change": Route("get", expect=ANON_LOGIN, other=200),
    "accounts:api_token_revoke": Route(
        "post", _principal_token, expect={**ANON_LOGIN, "principal": 302}, other=404
    ),
    "accounts:user_list": Route(
        "get", expect={**ANON_LOGIN, **expect((VIEWERS, 200), (["principal2"], 200))}
    ),
    "accounts:user_create": Route(
        "get", expect={**ANON_LOGIN, **expect((LEADERS, 200), (["principal2"], 200))}
    ),
    "accounts:user_detail": Route(
        "get",
        _first_teacher_id,
        expect={**ANON_LOGIN, **expect((VIEWERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "accounts:user_update": Route(
        "get",
        _first_teacher_id,
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "accounts:user_password_reset": Route(
        "get",
        _first_teacher_id,
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "accounts:role_assign": Route(
        "get",
        _first_teacher_id,
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "accounts:user_mobile_unmask": Route(
        "post",
        _first_teacher_id,
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "accounts:role_revoke": Route(
        "post",
        _teacher_assignment,
        expect={**ANON_LOGIN, **expect((LEADERS, 302), (["parent", *OUTSIDERS], 404))},
    ),
    "org:tree": Route("get", expect={**ANON_LOGIN, "parent": 403}, other=200),
    "org:school_list": Route("get", expect={**ANON_LOGIN, "parent": 403}, other=200),
    "org:class_list": Route("get", expect={**ANON_LOGIN, "parent": 403}, other=200),
    "org:alliance_list": Route("get", expect={**ANON_LOGIN, "parent": 403}, other=200),
    "org:term_list": Route("get", expect={**ANON_LOGIN, "parent": 403}, other=200),
    "org:unit_detail": Route(
        "get",
        lambda w: {"unit_id": w.class_a.pk},
        expect={**ANON_LOGIN, **expect((IN_FIRST_SCHOOL, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "org:unit_children": Route(
        "get",
        lambda w: {"unit_id": w.school.pk},
        expect={**ANON_LOGIN, **expect((IN_FIRST_SCHOOL, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "org:unit_update": Route(
        "get",
        lambda w: {"unit_id": w.class_a.pk},
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "org:unit_create": Route(
        "get",
        lambda w: {"parent_id": w.school.pk},
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    # 学年升级 needs org.manage and students.manage at the school: the leaders only.
    "org:school_rollover": Route(
        "get",
        lambda w: {"unit_id": w.school.pk},
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "org:alliance_detail": Route(
        "get",
        _alliance,
        expect={**ANON_LOGIN, **expect((IN_FIRST_SCHOOL, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "audit:event_list": Route(
        "get", expect={**ANON_LOGIN, **expect((LEADERS, 200), (["principal2"], 200))}
    ),
}
