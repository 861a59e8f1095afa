"""API-only reads that the domain selectors do not (yet) offer.

Every function starts from a domain selector or from ``Model.objects.visible_to(actor)``;
nothing here looks a row up by id without the actor's scope. Counts are aggregates and
follow the organisational scope, like ``students.selectors.student_aggregate_base``: they
are computed only for units the actor may see.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from xiaowu.accounts.models import RoleAssignment, RoleAssignmentQuerySet, UserQuerySet
from xiaowu.accounts.roles import Role
from xiaowu.accounts.scoping import unit_subtree
from xiaowu.accounts.selectors import user_get, user_list
from xiaowu.api.privacy import PUBLIC_GROUPS, special_group_schools
from xiaowu.api.schemas import (
    CHILDREN_ATTR,
    HEAD_TEACHERS_ATTR,
    HONOURS_ATTR,
    ROLES_ATTR,
    STATUS_PERIODS_ATTR,
)
from xiaowu.org.models import OrgUnit, OrgUnitQuerySet, SchoolType, UnitKind
from xiaowu.org.selectors import org_unit_list, school_class_list, school_list
from xiaowu.staff.models import StaffMember, StaffMemberQuerySet, TeachingAssignment
from xiaowu.staff.selectors import (
    staff_get,
    staff_honour_list,
    staff_list,
    staff_status_history,
    teaching_assignment_list,
)
from xiaowu.students.models import (
    Guardian,
    GuardianQuerySet,
    Guardianship,
    StatusChange,
    Student,
    StudentQuerySet,
)
from xiaowu.students.selectors import (
    guardian_get,
    guardian_list,
    status_change_list,
    student_aggregate_base,
    student_list,
)

if TYPE_CHECKING:
    from xiaowu.accounts.models import User


def _count(rows: QuerySet[Any], group_by: str) -> Coalesce:
    """Return ``COALESCE((SELECT COUNT(*) FROM rows WHERE group_by = outer.pk), 0)``."""
    counted = (
        rows.filter(**{group_by: OuterRef("pk")})
        .order_by()
        .values(group_by)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _role_assignments(actor: User) -> RoleAssignmentQuerySet:
    return RoleAssignment.objects.visible_to(actor).select_related("org_unit")


def _visible_roles_prefetch(actor: User) -> Prefetch[Any]:
    return Prefetch(
        "role_assignments",
        queryset=_role_assignments(actor).order_by("valid_from", "role", "pk"),
        to_attr=ROLES_ATTR,
    )


# --------------------------------------------------------------------------- accounts


def me_role_assignments(*, actor: User) -> list[RoleAssignment]:
    """Return the actor's own role assignments that are in force today."""
    return list(
        _role_assignments(actor)
        .active()
        .filter(user=actor, org_unit__is_active=True)
        .order_by("role", "org_unit__code")
    )


def api_user_list(
    *, actor: User, search: str = "", role: str = "", unit_id: int | None = None
) -> UserQuerySet:
    """Return the accounts the actor may see, each with only the role assignments they may see.

    The role and unit filters match assignments inside the actor's scope only, so that a
    filter cannot reveal where else a visible user holds a role.
    """
    users = user_list(actor=actor, search=search)
    if role or unit_id:
        assignments = RoleAssignment.objects.visible_to(actor)
        if role:
            assignments = assignments.filter(role=role)
        if unit_id:
            assignments = assignments.filter(org_unit__in=unit_subtree({unit_id}))
        users = users.filter(pk__in=assignments.values("user_id"))
    # Replace the selector's prefetch of *all* assignments with the visible ones.
    return users.prefetch_related(None).prefetch_related(_visible_roles_prefetch(actor))


def api_user_get(*, actor: User, user_id: int) -> User:
    """Return the account (Http404 outside the actor's scope) with its visible assignments."""
    user = user_get(actor=actor, user_id=user_id)
    prefetch_related_objects([user], _visible_roles_prefetch(actor))
    return user


# --------------------------------------------------------------------------- org


def _with_class_facts(*, actor: User, classes: OrgUnitQuerySet) -> OrgUnitQuerySet:
    head_teachers = (
        RoleAssignment.objects.visible_to(actor)
        .active()
        .filter(role=Role.HEAD_TEACHER, user__is_active=True)
        .select_related("user")
        .order_by("user__name_pinyin", "user_id")
    )
    return classes.annotate(
        student_count=_count(student_aggregate_base(actor=actor), "school_class"),
    ).prefetch_related(
        Prefetch("role_assignments", queryset=head_teachers, to_attr=HEAD_TEACHERS_ATTR)
    )


def api_class_list(
    *, actor: User, school_id: int | None = None, grade: int | None = None, search: str = ""
) -> OrgUnitQuerySet:
    classes = school_class_list(actor=actor, school_id=school_id, grade=grade, search=search)
    # By school, then 年级 and 班号 (the selector orders by tree depth).
    classes = classes.order_by("school__code", "grade", "class_number", "code")
    return _with_class_facts(actor=actor, classes=classes)


def api_class_get(*, actor: User, class_id: int) -> OrgUnit:
    """Return the class, or raise Http404 when it is no class or outside the actor's scope."""
    classes = org_unit_list(actor=actor, kind=UnitKind.SCHOOL_CLASS, include_inactive=True)
    return get_object_or_404(_with_class_facts(actor=actor, classes=classes), pk=class_id)


def api_school_list(
    *, actor: User, school_type: SchoolType | None = None, search: str = ""
) -> OrgUnitQuerySet:
    schools = school_list(actor=actor)
    if school_type:
        schools = schools.filter(school_type=school_type)
    if search:
        # The same name/pinyin/code search as the org-unit list, restricted to these schools.
        schools = schools.filter(pk__in=org_unit_list(actor=actor, search=search).values("pk"))
    active_classes = OrgUnit.objects.visible_to(actor).classes().filter(is_active=True)
    return schools.annotate(
        class_count=_count(active_classes, "school"),
        student_count=_count(student_aggregate_base(actor=actor), "school"),
    )


# --------------------------------------------------------------------------- students

NO_GROUP_FILTER = "您无权按特殊群体筛选学生。"


def api_student_list(
    *,
    actor: User,
    search: str = "",
    school_id: int | None = None,
    class_id: int | None = None,
    grade: int | None = None,
    status: str = "",
    groups: list[str] | None = None,
) -> StudentQuerySet:
    """Return the students the actor may see, filtered, in a stable order.

    A filter on a sensitive special group (anything but 住校生) is allowed only to callers
    who may read special groups, and matches only students of the schools where they may.
    """
    students = student_list(
        actor=actor,
        search=search,
        school_id=school_id,
        class_id=class_id,
        grade=grade,
        status=status,
        groups=groups,
    )
    if set(groups or []) - PUBLIC_GROUPS:
        schools = special_group_schools(actor)
        if schools is not None:
            if not schools:
                raise PermissionDenied(NO_GROUP_FILTER)
            students = students.filter(school__in=schools)
    return students.order_by(
        "school__code", "school_class__grade", "school_class__class_number", "name_pinyin", "pk"
    )


def _visible_children(actor: User) -> Prefetch[Any]:
    """The guardianships of students the actor may see (a guardian may have other children)."""
    return Prefetch(
        "guardianships",
        queryset=Guardianship.objects.filter(
            student__in=Student.objects.visible_to(actor).values("pk")
        )
        .select_related("student")
        .order_by("student__name_pinyin", "pk"),
        to_attr=CHILDREN_ATTR,
    )


def api_guardian_list(*, actor: User, search: str = "") -> GuardianQuerySet:
    guardians = guardian_list(actor=actor, search=search)
    # Replace the selector's prefetch of *all* children with the visible ones.
    return (
        guardians.prefetch_related(None)
        .prefetch_related(_visible_children(actor))
        .order_by("name", "pk")
    )


def api_guardian_get(*, actor: User, guardian_id: int) -> Guardian:
    guardian = guardian_get(actor=actor, guardian_id=guardian_id)
    prefetch_related_objects([guardian], _visible_children(actor))
    return guardian


def api_status_change_list(
    *,
    actor: User,
    school_id: int | None = None,
    kind: str = "",
    start_on: date | None = None,
    end_on: date | None = None,
) -> QuerySet[StatusChange]:
    return status_change_list(
        actor=actor, school_id=school_id, kind=kind, start_on=start_on, end_on=end_on
    ).select_related("recorded_by")


def api_unit_for_status_change(*, actor: User, unit_id: int) -> OrgUnit:
    """Return the target class of a 异动 (Http404 outside the actor's organisational scope).

    Any unit in scope is returned: whether it is a usable class is the service's decision.
    """
    return get_object_or_404(OrgUnit.objects.visible_to(actor), pk=unit_id)


def open_membership_start(*, student: Student) -> date | None:
    """Return the day the (already visible) student's current class membership began."""
    return (
        student.memberships.filter(end_on__isnull=True).values_list("start_on", flat=True).first()
    )


# --------------------------------------------------------------------------- staff


def api_staff_list(
    *,
    actor: User,
    search: str = "",
    unit_id: int | None = None,
    status: str = "",
    post_category: str = "",
    subject: str = "",
) -> StaffMemberQuerySet:
    return staff_list(
        actor=actor,
        search=search,
        unit_id=unit_id,
        status=status,
        post_category=post_category,
        subject=subject,
    ).order_by("org_unit__code", "name_pinyin", "pk")


def api_staff_get(*, actor: User, staff_id: int) -> StaffMember:
    """Return the staff member (Http404 outside scope) with status periods and honours."""
    staff = staff_get(actor=actor, staff_id=staff_id)
    setattr(staff, STATUS_PERIODS_ATTR, staff_status_history(staff=staff))
    setattr(staff, HONOURS_ATTR, staff_honour_list(staff=staff))
    return staff


def api_teaching_assignment_list(
    *,
    actor: User,
    term_id: int | None = None,
    class_id: int | None = None,
    staff_id: int | None = None,
    school_id: int | None = None,
) -> QuerySet[TeachingAssignment]:
    return teaching_assignment_list(
        actor=actor, term_id=term_id, class_id=class_id, staff_id=staff_id, school_id=school_id
    ).order_by(
        "-term__start_on", "school_class__code", "role", "subject", "staff__name_pinyin", "pk"
    )
