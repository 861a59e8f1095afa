"""Reads of the student register; headcounts can be asked as of any date."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from xiaowu.accounts.scoping import scope_for, unit_subtree
from xiaowu.core.rates import Rate
from xiaowu.core.search import name_search
from xiaowu.students.models import (
    AgeCohortPopulation,
    ClassMembership,
    Guardian,
    GuardianQuerySet,
    Guardianship,
    StatusChange,
    StatusChangeKind,
    Student,
    StudentQuerySet,
)

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

# Special groups that list pages filter on: key → (label, condition).
SPECIAL_GROUPS: dict[str, tuple[str, Q]] = {
    "left_behind": ("留守儿童", ~Q(left_behind="0")),
    "migrant": ("随迁子女", Q(is_migrant_child=True)),
    "disability": ("残疾", Q(has_disability=True)),
    "orphan": ("孤儿", Q(is_orphan=True)),
    "needy": ("建档立卡/低保家庭", Q(is_needy_family=True)),
    "boarding": ("住校生", Q(study_mode="2")),
}


@dataclass(frozen=True)
class GradeGenderCount:
    grade: int | None
    gender: str
    headcount: int


def _aggregate_units(actor: User, root_id: int | None) -> QuerySet[Any] | None:
    """Return the subquery of units whose students count in the actor's aggregates (None: all).

    Aggregates (no names) follow the *organisational* scope, so a teacher's dashboard shows the
    whole school's headcount while the records themselves stay relationship-scoped.
    """
    scope = scope_for(actor)
    if root_id is None:
        return None if scope.is_global else unit_subtree(scope.org_roots)
    units = unit_subtree({root_id})
    if scope.is_global:
        return units
    return units.filter(descendant_id__in=unit_subtree(scope.org_roots))


def years_before(day: date, years: int) -> date:
    """Return the same calendar day ``years`` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def student_aggregate_base(*, actor: User, root_id: int | None = None) -> StudentQuerySet:
    """Return the currently enrolled students counted in the actor's organisational scope."""
    students = Student.objects.enrolled()
    units = _aggregate_units(actor, root_id)
    return students if units is None else students.filter(school__in=units)


def memberships_on(
    *, actor: User, day: date, root_id: int | None = None
) -> QuerySet[ClassMembership]:
    """Return the class memberships in force on ``day`` (start ≤ day < end) in scope."""
    memberships = ClassMembership.objects.filter(
        Q(end_on__isnull=True) | Q(end_on__gt=day), start_on__lte=day
    )
    units = _aggregate_units(actor, root_id)
    return memberships if units is None else memberships.filter(school__in=units)


def enrolled_headcount_on(*, actor: User, day: date, root_id: int | None = None) -> int:
    """在校生数 on ``day``, from the membership history (exact for any past date)."""
    return memberships_on(actor=actor, day=day, root_id=root_id).count()


def student_headcount_by_grade_gender(
    *, actor: User, root_id: int | None = None, on: date | None = None
) -> list[GradeGenderCount]:
    """Headcount by the class's grade and gender: current, or as of ``on``."""
    if on is None:
        current = (
            student_aggregate_base(actor=actor, root_id=root_id)
            .values("school_class__grade", "gender")
            .annotate(n=Count("pk"))
            .order_by("school_class__grade", "gender")
        )
        return [GradeGenderCount(r["school_class__grade"], r["gender"], r["n"]) for r in current]
    rows = (
        memberships_on(actor=actor, day=on, root_id=root_id)
        .values("school_class__grade", "student__gender")
        .annotate(n=Count("pk"))
        .order_by("school_class__grade", "student__gender")
    )
    return [GradeGenderCount(r["school_class__grade"], r["student__gender"], r["n"]) for r in rows]


def status_change_count(
    *, actor: User, kind: str, start_on: date, end_on: date, root_id: int | None = None
) -> int:
    """Number of 异动 of ``kind`` with start_on ≤ effective_on ≤ end_on in scope."""
    events = StatusChange.objects.filter(
        kind=kind, effective_on__gte=start_on, effective_on__lte=end_on
    )
    units = _aggregate_units(actor, root_id)
    return (events if units is None else events.filter(school__in=units)).count()


def dropout_rate(*, actor: User, start_on: date, end_on: date, root_id: int | None = None) -> Rate:
    """辍学率 = dropouts in [start_on, end_on] / students enrolled on start_on."""
    return Rate(
        numerator=status_change_count(
            actor=actor,
            kind=StatusChangeKind.DROPOUT,
            start_on=start_on,
            end_on=end_on,
            root_id=root_id,
        ),
        denominator=enrolled_headcount_on(actor=actor, day=start_on, root_id=root_id),
    )


def enrollment_rate(*, actor: User, cohort: AgeCohortPopulation, on: date) -> Rate:
    """入学率 = enrolled students aged within the cohort's band on ``on``, in schools under the
    cohort's unit, / the stated 适龄人口 of that band."""
    memberships = memberships_on(actor=actor, day=on, root_id=cohort.org_unit_id)
    # Aged age_from … age_to on ``on`` ⇔ born after on − (age_to + 1) years, by on − age_from years.
    in_band = memberships.filter(
        student__birth_date__lte=years_before(on, cohort.age_from),
        student__birth_date__gt=years_before(on, cohort.age_to + 1),
    ).count()
    return Rate(numerator=in_band, denominator=cohort.headcount)


def student_list(
    *,
    actor: User,
    search: str = "",
    school_id: int | None = None,
    class_id: int | None = None,
    grade: int | None = None,
    status: str = "",
    groups: list[str] | None = None,
) -> StudentQuerySet:
    students = Student.objects.visible_to(actor)
    if search:
        term = search.strip()
        students = students.filter(
            name_search(term) | Q(national_student_number__iexact=term) | Q(id_number__iexact=term)
        )
    if school_id:
        students = students.filter(school_id=school_id)
    if class_id:
        students = students.filter(school_class_id=class_id)
    if grade is not None:
        students = students.filter(school_class__grade=grade)
    if status:
        students = students.filter(status=status)
    for key in groups or []:
        if key in SPECIAL_GROUPS:
            students = students.filter(SPECIAL_GROUPS[key][1])
    return students.select_related("school", "school_class")


def student_get(*, actor: User, student_id: int) -> Student:
    """Return the student, or raise Http404 when outside the actor's record scope."""
    return get_object_or_404(
        Student.objects.visible_to(actor).select_related("school", "school_class"), pk=student_id
    )


def student_history(*, student: Student) -> list[StatusChange]:
    """Return the 异动 of one (already visible) student, oldest first."""
    return list(
        student.status_changes.select_related("from_class", "to_class", "school", "recorded_by")
        .prefetch_related("attachments")
        .order_by("effective_on", "id")
    )


def student_memberships(*, student: Student) -> list[ClassMembership]:
    return list(
        student.memberships.select_related("school_class", "school").order_by("start_on", "id")
    )


def student_guardianships(*, student: Student) -> list[Guardianship]:
    return list(student.guardianships.select_related("guardian").order_by("id"))


def student_children_of(*, guardian: User) -> StudentQuerySet:
    """Return the guardian's own children (the only students a 家长 sees)."""
    return (
        Student.objects.visible_to(guardian)
        .filter(guardianships__guardian__user=guardian)
        .select_related("school", "school_class")
    )


def guardian_list(*, actor: User, search: str = "") -> GuardianQuerySet:
    guardians = Guardian.objects.visible_to(actor)
    if search:
        guardians = guardians.filter(name__icontains=search.strip())
    # Only the children the actor may see: a guardian's other children stay hidden.
    visible_links = Guardianship.objects.filter(
        student__in=Student.objects.visible_to(actor).values("pk")
    ).select_related("student")
    return guardians.prefetch_related(Prefetch("guardianships", queryset=visible_links))


def guardian_get(*, actor: User, guardian_id: int) -> Guardian:
    return get_object_or_404(Guardian.objects.visible_to(actor), pk=guardian_id)


def status_change_list(
    *,
    actor: User,
    school_id: int | None = None,
    kind: str = "",
    start_on: date | None = None,
    end_on: date | None = None,
    student_id: int | None = None,
) -> QuerySet[StatusChange]:
    """异动 of students the actor may see, newest first."""
    events = StatusChange.objects.visible_to(actor)
    if school_id:
        events = events.filter(school_id=school_id)
    if kind:
        events = events.filter(kind=kind)
    if start_on:
        events = events.filter(effective_on__gte=start_on)
    if end_on:
        events = events.filter(effective_on__lte=end_on)
    if student_id:
        events = events.filter(student_id=student_id)
    return events.select_related("student", "school", "from_class", "to_class").order_by(
        "-effective_on", "-id"
    )


def status_change_counts(
    *, actor: User, start_on: date, end_on: date, root_id: int | None = None
) -> dict[str, int]:
    """Number of 异动 per kind with start_on ≤ effective_on ≤ end_on, in the aggregate scope."""
    events = StatusChange.objects.filter(effective_on__gte=start_on, effective_on__lte=end_on)
    units = _aggregate_units(actor, root_id)
    if units is not None:
        events = events.filter(school__in=units)
    return dict(events.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))


def status_change_counts_by_school(
    *,
    actor: User,
    kinds: Iterable[str],
    start_on: date,
    end_on: date,
    root_id: int | None = None,
) -> dict[int, int]:
    """Number of 异动 of ``kinds`` with start_on ≤ effective_on ≤ end_on per school, in one
    grouped query.

    The scope is the aggregate one of :func:`status_change_counts` (the organisational scope,
    narrowed to ``root_id``), so the per-school values add up to its totals; schools with no
    such event are absent. Closed schools under the root are counted too: the caller decides
    where they belong (a roll-up puts them in its "其他" row).
    """
    events = StatusChange.objects.filter(
        kind__in=list(kinds), effective_on__gte=start_on, effective_on__lte=end_on
    )
    units = _aggregate_units(actor, root_id)
    if units is not None:
        events = events.filter(school__in=units)
    return dict(
        events.order_by()
        .values_list("school_id")
        .annotate(n=Count("pk"))
        .values_list("school_id", "n")
    )


def special_group_counts(*, actor: User, root_id: int | None = None) -> dict[str, int]:
    """Currently enrolled students in each special group (留守儿童, 住校生 …), aggregate scope."""
    students = student_aggregate_base(actor=actor, root_id=root_id)
    counts = students.aggregate(
        **{
            key: Count("pk", filter=condition)
            for key, (_label, condition) in SPECIAL_GROUPS.items()
        }
    )
    return {key: int(value or 0) for key, value in counts.items()}


def age_cohort_population_list(*, actor: User, school_year_id: int) -> list[AgeCohortPopulation]:
    """Stated 适龄人口 figures of one school year, for units in the actor's organisational scope."""
    scope = scope_for(actor)
    rows = AgeCohortPopulation.objects.filter(school_year_id=school_year_id)
    if not scope.is_global:
        rows = rows.filter(org_unit__in=unit_subtree(scope.org_roots))
    return list(
        rows.select_related("org_unit", "school_year").order_by(
            "org_unit__depth", "org_unit__code", "age_from", "age_to"
        )
    )
