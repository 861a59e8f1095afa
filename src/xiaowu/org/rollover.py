"""学年升级 — the annual school-year rollover of one school.

Every active class moves up one grade and keeps its unit (same pk), so memberships, exams and
role assignments follow it; a conventionally named class takes the conventional name of its new
grade (七年级(2)班 → 八年级(2)班) and a custom name (实验班) is kept. Classes of the school's
top grade graduate instead: their enrolled students get a 毕业 status change and the class is
closed and renamed “2026届九年级(1)班”, which frees its name for the class promoted into it.

``rollover_plan`` works the whole change out without writing; ``school_year_rollover`` checks
permission, applies the plan in one transaction, records the rollover once per school and year
and writes the audit log.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import has_perm_at
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record, diff
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.org.models import (
    Grade,
    OrgUnit,
    SchoolType,
    SchoolYear,
    SchoolYearRollover,
    UnitKind,
)
from xiaowu.org.services import class_display_name
from xiaowu.students.models import (
    ClassMembership,
    StatusChange,
    StatusChangeKind,
    Student,
    StudentStatus,
)
from xiaowu.students.services import ALLOWED_FROM, RESULTING_STATUS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from xiaowu.accounts.models import User

# The grade a school's pupils leave from (毕业年级), by 学校类型.
TOP_GRADE: dict[str, int] = {
    SchoolType.COMPLETE_PRIMARY: Grade.G6,
    SchoolType.CENTRAL_PRIMARY: Grade.G6,
    SchoolType.TEACHING_POINT: Grade.G6,
    SchoolType.JUNIOR_MIDDLE: Grade.G9,
    SchoolType.NINE_YEAR_SCHOOL: Grade.G9,
    SchoolType.COMPLETE_MIDDLE: Grade.G12,
    SchoolType.SENIOR_MIDDLE: Grade.G12,
    SchoolType.KINDERGARTEN: Grade.KG_LARGE,
}
# Grade 0 does not exist: 大班 moves on to 一年级 (a primary school's 附设学前班).
NEXT_GRADE: dict[int, int] = {
    **{grade: grade + 1 for grade in Grade.values if grade not in (Grade.KG_LARGE, Grade.G12)},
    Grade.KG_LARGE: Grade.G1,
}
GRADUATION = StatusChangeKind.GRADUATION
PROMOTE = "promote"
GRADUATE = "graduate"
# How many failing students a refusal names before it says “等”.
MAX_NAMED_STUDENTS = 10


@dataclass(frozen=True)
class ClassMove:
    """What happens to one active class."""

    unit_id: int
    code: str
    parent_id: int | None
    action: str  # PROMOTE or GRADUATE
    name_before: str
    name_after: str
    grade_before: int
    grade_after: int
    class_number: int | None
    enrolled_count: int

    @property
    def graduates(self) -> bool:
        return self.action == GRADUATE

    @property
    def grade_before_label(self) -> str:
        return Grade(self.grade_before).label

    @property
    def grade_after_label(self) -> str:
        return Grade(self.grade_after).label

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.unit_id,
            "code": self.code,
            "action": self.action,
            "name_before": self.name_before,
            "name_after": self.name_after,
            "grade_before": self.grade_before,
            "grade_after": self.grade_after,
            "enrolled": self.enrolled_count,
        }


@dataclass
class RolloverPlan:
    """The whole rollover of ``school`` into ``school_year``, and what blocks it."""

    school: OrgUnit
    school_year: SchoolYear
    graduation_year: int
    top_grade: int | None
    moves: list[ClassMove] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def promoted(self) -> list[ClassMove]:
        return [move for move in self.moves if not move.graduates]

    @property
    def graduating(self) -> list[ClassMove]:
        return [move for move in self.moves if move.graduates]

    @property
    def graduate_count(self) -> int:
        return sum(move.enrolled_count for move in self.graduating)

    def as_json(self) -> dict[str, Any]:
        return {
            "school": self.school.code,
            "school_year": self.school_year.name,
            "graduation_year": self.graduation_year,
            "promoted": [move.as_json() for move in self.promoted],
            "graduated_classes": [move.as_json() for move in self.graduating],
            "graduated_students": self.graduate_count,
            "problems": list(self.problems),
        }


def top_grade_of(school: OrgUnit) -> int | None:
    """Return the grade the school's pupils graduate from (None for an unknown type)."""
    return TOP_GRADE.get(school.school_type)


def graduated_name(graduation_year: int, name: str) -> str:
    """Return the name of a closed graduating class, e.g. 2026届九年级(1)班."""
    return f"{graduation_year}届{name}"


def rollover_plan(*, school: OrgUnit, school_year: SchoolYear) -> RolloverPlan:
    """Return the rollover of ``school`` into ``school_year``: a move per active class (top
    grade → graduate and close, others → up one grade) and the problems that block it.

    The caller has already looked the school up through a scoped selector.
    """
    top = top_grade_of(school)
    plan = RolloverPlan(
        school=school,
        school_year=school_year,
        graduation_year=school_year.start_on.year,
        top_grade=top,
    )
    if school.kind != UnitKind.SCHOOL:
        plan.problems.append(f"“{school.name}”不是学校，不能进行学年升级。")
        return plan
    if top is None:
        plan.problems.append("本校未设置学校类型，无法确定毕业年级。")
    done = SchoolYearRollover.objects.filter(school=school).select_related("school_year")
    if any(r.school_year_id == school_year.pk for r in done):
        plan.problems.append(
            f"本校已完成{school_year}的学年升级，每学年只能升级一次"
            "（升入下一学年前，请先在校历中建立下一学年）。"
        )
    later = sorted(
        (r.school_year for r in done if r.school_year.start_on > school_year.start_on),
        key=lambda year: year.start_on,
    )
    if later:
        plan.problems.append(f"本校已完成更晚的{later[-1]}的学年升级。")
    classes = list(
        OrgUnit.objects.filter(kind=UnitKind.SCHOOL_CLASS, school=school, is_active=True)
        .annotate(
            enrolled=Count(
                "class_students", filter=Q(class_students__status=StudentStatus.ENROLLED)
            )
        )
        .order_by(F("grade").desc(nulls_last=True), "class_number", "code")
    )
    for unit in classes:
        move = _class_move(unit, plan)
        if move is not None:
            plan.moves.append(move)
    plan.problems.extend(_clashes(plan))
    return plan


def _class_move(unit: Any, plan: RolloverPlan) -> ClassMove | None:
    grade: int | None = unit.grade
    if grade is None:
        plan.problems.append(f"班级“{unit.name}”（{unit.code}）没有年级，请先设置年级。")
        return None
    top = plan.top_grade
    if top is not None and grade > top:
        plan.problems.append(
            f"班级“{unit.name}”（{unit.code}）的年级{Grade(grade).label}高于本校毕业年级"
            f"{Grade(top).label}，请先核对。"
        )
        return None
    if top is None:
        return None
    conventional = unit.class_number is not None and unit.name == class_display_name(
        grade, unit.class_number
    )
    if grade == top:
        return ClassMove(
            unit_id=unit.pk,
            code=unit.code,
            parent_id=unit.parent_id,
            action=GRADUATE,
            name_before=unit.name,
            name_after=graduated_name(plan.graduation_year, unit.name),
            grade_before=grade,
            grade_after=grade,
            class_number=unit.class_number,
            enrolled_count=unit.enrolled,
        )
    new_grade = NEXT_GRADE[grade]
    return ClassMove(
        unit_id=unit.pk,
        code=unit.code,
        parent_id=unit.parent_id,
        action=PROMOTE,
        name_before=unit.name,
        name_after=class_display_name(new_grade, unit.class_number) if conventional else unit.name,
        grade_before=grade,
        grade_after=new_grade,
        class_number=unit.class_number,
        enrolled_count=unit.enrolled,
    )


def _clashes(plan: RolloverPlan) -> list[str]:
    """Return the name and number clashes the moves would create (unique constraints)."""
    problems: list[str] = []
    moved = {move.unit_id: move for move in plan.moves}
    parents = {move.parent_id for move in plan.moves}
    final_names: Counter[tuple[int | None, str]] = Counter()
    for pk, parent_id, name in OrgUnit.objects.filter(parent_id__in=parents).values_list(
        "pk", "parent_id", "name"
    ):
        final_names[(parent_id, moved[pk].name_after if pk in moved else name)] += 1
    for (_parent_id, name), count in sorted(final_names.items(), key=lambda item: item[0][1]):
        if count > 1:
            problems.append(f"升级后同一上级下将有{count}个名为“{name}”的机构，请先改名。")
    numbers = Counter(
        (move.grade_after, move.class_number) for move in plan.moves if not move.graduates
    )
    for (grade, number), count in sorted(numbers.items()):
        if count > 1 and number is not None:
            label = class_display_name(grade, number)
            problems.append(f"升级后本校将有{count}个在用的{label}，请先核对班号。")
    return problems


def default_school_year(*, school: OrgUnit, today: date | None = None) -> SchoolYear | None:
    """Return the school year a rollover run today most likely targets: the first one starting
    after about three months ago that the school has not been rolled over into yet."""
    day = today or timezone.localdate()
    years = SchoolYear.objects.exclude(rollovers__school=school).order_by("start_on")
    return (
        years.filter(start_on__gt=day - timedelta(days=90)).first()
        or SchoolYear.objects.order_by("-start_on").first()
    )


def default_graduated_on(*, school_year: SchoolYear, today: date | None = None) -> date:
    """Return the default 毕业日期: today, but no later than the day before the new year."""
    return min(today or timezone.localdate(), school_year.start_on - timedelta(days=1))


def rollover_allowed(actor: User, school: OrgUnit) -> bool:
    """Return True when ``actor`` manages both the org units and the 学籍 of ``school``."""
    return has_perm_at(actor, Perm.ORG_MANAGE, school.pk) and has_perm_at(
        actor, Perm.STUDENTS_MANAGE, school.pk
    )


@transaction.atomic
def school_year_rollover(
    *, actor: User, school: OrgUnit, school_year: SchoolYear, graduated_on: date
) -> SchoolYearRollover:
    """Apply the rollover of ``school`` into ``school_year``: graduate the top grade on
    ``graduated_on``, move every other class up a grade, and record it once per year."""
    if not rollover_allowed(actor, school):
        raise PermissionDenied("您无权对该校进行学年升级（需同时具有机构管理和学籍管理权限）。")
    # Two concurrent rollovers of one school queue here; the second then sees the first's record.
    list(OrgUnit.objects.select_for_update().filter(pk=school.pk).values_list("pk", flat=True))
    plan = rollover_plan(school=school, school_year=school_year)
    if not plan.ok:
        raise ValidationError(plan.problems)
    if graduated_on > school_year.start_on:
        raise ValidationError({"graduated_on": "毕业日期不能晚于新学年的开始日期。"})
    now = timezone.now()
    # Graduating classes first, then top-down: each name and (grade, number) is free by the time
    # the class below takes it, so the unique constraints hold after every single update.
    for move in [*plan.graduating, *plan.promoted]:
        _class_apply(move, now=now)
    graduated = _graduate(
        actor=actor, school=school, moves=plan.graduating, graduated_on=graduated_on
    )
    summary = {**plan.as_json(), "graduated_on": graduated_on.isoformat()}
    summary["graduated_students"] = graduated
    record = SchoolYearRollover(
        school=school,
        school_year=school_year,
        graduated_on=graduated_on,
        performed_by=_saved(actor),
        performed_at=now,
        summary=summary,
    )
    record.full_clean()
    record.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        event="org.school_year_rollover",
        target=school,
        org_unit_id=school.pk,
        changes=summary,
    )
    return record


def _saved(actor: User) -> User | None:
    """Return ``actor`` as a row to point at; None for the unsaved operator of the CLI."""
    return None if actor._state.adding else actor


def _class_apply(move: ClassMove, *, now: Any) -> None:
    values: dict[str, Any] = {"updated_at": now}
    if move.graduates:
        values["is_active"] = False
    else:
        values["grade"] = move.grade_after
    if move.name_after != move.name_before:
        values["name"] = move.name_after
        values["name_pinyin"], values["name_initials"] = pinyin_keys(move.name_after)
    OrgUnit.objects.filter(pk=move.unit_id).update(**values)


def _graduate(
    *, actor: User, school: OrgUnit, moves: Sequence[ClassMove], graduated_on: date
) -> int:
    """Record 毕业 for every enrolled student of the graduating classes, as
    ``status_change_record`` does for one student (event, membership, status, audit), in bulk."""
    students = list(
        Student.objects.select_for_update()
        .filter(school_class_id__in=[move.unit_id for move in moves])
        .filter(status__in=[s for s in ALLOWED_FROM[GRADUATION] if s is not None])
        .order_by("school_class_id", "name_pinyin", "pk")
    )
    if not students:
        return 0
    ids = [student.pk for student in students]
    last_change = dict(
        StatusChange.objects.filter(student_id__in=ids)
        .values("student_id")
        .annotate(last=Max("effective_on"))
        .values_list("student_id", "last")
    )
    open_memberships = ClassMembership.objects.filter(student_id__in=ids, end_on__isnull=True)
    open_since = dict(
        open_memberships.values("student_id")
        .annotate(start=Max("start_on"))
        .values_list("student_id", "start")
    )
    errors: list[str] = []
    for student in students:
        last = last_change.get(student.pk)
        since = open_since.get(student.pk)
        if last is not None and graduated_on < last:
            errors.append(f"{student.name}：毕业日期不能早于该生最近一次异动（{last:%Y-%m-%d}）")
        elif since is not None and graduated_on < since:
            errors.append(
                f"{student.name}：毕业日期不能早于该生进入现班级的日期（{since:%Y-%m-%d}）"
            )
    if errors:
        more = "等" if len(errors) > MAX_NAMED_STUDENTS else ""
        named = "；".join(errors[:MAX_NAMED_STUDENTS])
        raise ValidationError(
            {"graduated_on": f"{len(errors)}名学生无法办理毕业：{named}{more}。未做任何更改。"}
        )
    # A same-day membership is replaced, as a same-day correction is in status_change_record.
    open_memberships.filter(start_on=graduated_on).delete()
    open_memberships.update(end_on=graduated_on)
    recorded_by = _saved(actor)
    events = StatusChange.objects.bulk_create(
        [
            StatusChange(
                student=student,
                school_id=student.school_id,
                kind=GRADUATION,
                effective_on=graduated_on,
                from_class_id=student.school_class_id,
                to_class=None,
                recorded_by=recorded_by,
            )
            for student in students
        ]
    )
    status = RESULTING_STATUS[GRADUATION]
    Student.objects.filter(pk__in=ids).update(
        status=status, version=F("version") + 1, updated_at=timezone.now()
    )
    for student, event in zip(students, events, strict=True):
        before = {
            "status": student.status,
            "school": student.school_id,
            "school_class": student.school_class_id,
        }
        after = {**before, "status": status}
        student.status = status
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            event=f"students.status_change_{GRADUATION}",
            target=student,
            org_unit_id=student.school_class_id or school.pk,
            changes={
                **diff(before, after),
                "status_change": event.pk,
                "effective_on": graduated_on,
            },
        )
    return len(students)
