"""Reads for the operator commands: the demo logins as they are in the database.

Operator commands run with shell access, so these reads are not scoped to an actor.
"""

from __future__ import annotations

from dataclasses import dataclass

from xiaowu.accounts.models import RoleAssignment, User
from xiaowu.accounts.roles import Role
from xiaowu.demo.generator import DEMO_USERNAMES
from xiaowu.org.models import UnitKind


@dataclass(frozen=True)
class DemoLogin:
    username: str
    full_name: str
    roles: str  # e.g. "班主任、任课教师"
    units: str  # e.g. "青石镇初级中学（七年级(1)班、九年级(2)班）"


def demo_login_list() -> list[DemoLogin]:
    """Return the demo accounts that exist, in display order, with their roles and units."""
    users = {user.username: user for user in User.objects.filter(username__in=DEMO_USERNAMES)}
    assignments = (
        RoleAssignment.objects.filter(user__username__in=DEMO_USERNAMES)
        .select_related("user", "org_unit", "org_unit__school")
        .order_by("pk")
    )
    roles: dict[str, list[str]] = {}
    # {username: {unit or school name: [class names]}}, in assignment order.
    places: dict[str, dict[str, list[str]]] = {}
    for assignment in assignments:
        username = assignment.user.username
        label = Role(assignment.role).label
        if label not in roles.setdefault(username, []):
            roles[username].append(label)
        unit = assignment.org_unit
        where = places.setdefault(username, {})
        if unit.kind == UnitKind.SCHOOL_CLASS and unit.school is not None:
            classes = where.setdefault(unit.school.name, [])
            if unit.name not in classes:
                classes.append(unit.name)
        else:
            where.setdefault(unit.name, [])
    return [
        DemoLogin(
            username=username,
            full_name=users[username].full_name,
            roles="、".join(roles.get(username, [])) or "—",
            units="；".join(
                f"{name}（{'、'.join(classes)}）" if classes else name
                for name, classes in places.get(username, {}).items()
            )
            or "—",
        )
        for username in DEMO_USERNAMES
        if username in users
    ]
