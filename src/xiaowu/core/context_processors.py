"""Template context shared by every page: the navigation the user's roles allow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import Scope, scope_for


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    icon: str
    section: str
    active: bool = False


# Guardians hold no permission: their pages are reached through their children (record scope).
FOR_GUARDIANS = "guardians"

# (label, url name, icon, section, permission needed, None for every signed-in user, or
# FOR_GUARDIANS for users who see their own children)
NAVIGATION: tuple[tuple[str, str, str, str, Perm | str | None], ...] = (
    ("首页", "dashboard:home", "speedometer2", "dashboard", None),
    ("组织机构", "org:tree", "diagram-3", "org", Perm.ORG_VIEW),
    ("学校", "org:school_list", "building", "org", Perm.ORG_VIEW),
    ("班级", "org:class_list", "people", "org", Perm.ORG_VIEW),
    ("联盟与连片教研", "org:alliance_list", "link-45deg", "org", Perm.ORG_VIEW),
    ("校历", "org:term_list", "calendar3", "org", Perm.ORG_VIEW),
    ("学生", "students:list", "mortarboard", "students", Perm.STUDENTS_VIEW),
    ("学籍统计", "students:stats", "bar-chart-line", "students", Perm.STUDENTS_VIEW),
    ("教职工", "staff:list", "person-vcard", "staff", Perm.STAFF_VIEW),
    ("导入导出", "exchange:home", "arrow-left-right", "exchange", Perm.STUDENTS_MANAGE),
    ("工作总结", "reports:summary_list", "file-earmark-text", "reports", Perm.REPORTS_VIEW),
    ("改进目标", "reports:goal_list", "flag", "reports", Perm.REPORTS_VIEW),
    ("考试成绩", "exams:exam_list", "clipboard-data", "exams", Perm.EXAMS_VIEW),
    ("增值评价", "exams:va_form", "graph-up-arrow", "exams", Perm.EXAMS_VIEW),
    ("分析口径", "exams:caliber_list", "sliders", "exams", Perm.EXAMS_VIEW),
    ("成绩单", "exams:slip_list", "card-checklist", "exams", FOR_GUARDIANS),
    ("我的任务", "jobs:list", "hourglass-split", "jobs", None),
    ("用户与角色", "accounts:user_list", "person-badge", "accounts", Perm.ACCOUNTS_VIEW),
    ("审计日志", "audit:event_list", "journal-text", "audit", Perm.AUDIT_VIEW),
)


def _shown(scope: Scope, perm: Perm | str | None) -> bool:
    if perm is None:
        return True
    if perm == FOR_GUARDIANS:
        return scope.sees_own_children
    return scope.has_perm(Perm(perm))


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    scope = scope_for(user)
    allowed = [
        (label, reverse(name), icon, section)
        for label, name, icon, section, perm in NAVIGATION
        if _shown(scope, perm)
    ]
    # The active item is the one whose URL is the longest prefix of the current path.
    matches = [
        url
        for _l, url, _i, _s in allowed
        if request.path == url or (url != "/" and request.path.startswith(url))
    ]
    current = max(matches, key=len, default="")
    items = [
        NavItem(label=label, url=url, icon=icon, section=section, active=url == current)
        for label, url, icon, section in allowed
    ]
    return {"nav_items": items, "user_scope": scope}
