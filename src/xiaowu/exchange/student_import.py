"""学籍导入 — the engine behind a 学生基本信息表 import, in two steps:

1. ``student_import_plan`` reads every row in plain Python against lookup dicts built with a
   few queries (the school's classes, the students and guardians the file names), validates
   it, matches it to the register on 身份证件号 or 全国学籍号 and works out what would change.
   It writes nothing.
2. ``student_import_apply`` writes a plan without errors with bulk queries. New students get
   what ``students.services.student_register`` gives them (an open class membership and an
   入学 event dated from 入学年月, or the import day); a changed class is a 调班 event dated
   the import day that closes the open membership and opens the new one, exactly as
   ``students.services.status_change_record`` does. Unchanged rows are not touched, so a
   second import of the same file writes nothing (security.md DUR-05).

Permission checks, the transaction, the batch record and the audit row are the caller's
(``exchange.services``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Max
from django.utils import timezone

from xiaowu.core.identifiers import id_birth_date, id_number_is_valid
from xiaowu.core.masking import mask_id_number
from xiaowu.core.models import Gender
from xiaowu.core.tabular import CellError
from xiaowu.exchange.common import (
    ACTION_LABELS,
    CREATE,
    ERROR,
    PREVIEW_ROWS,
    UNCHANGED,
    UPDATE,
    Counts,
    ParsedRow,
    PinyinCache,
    chunked,
    header_of,
    keep_stored_over_derived,
    parse_rows,
)
from xiaowu.exchange.reader import RowError, Table
from xiaowu.org.models import OrgUnit, UnitKind
from xiaowu.students.io import (
    COLUMN_BY_KEY,
    GUARDIAN_SLOTS,
    STUDENT_COLUMNS,
    class_key,
    class_name_key,
    class_number,
    grade_number,
)
from xiaowu.students.models import (
    ClassMembership,
    Guardian,
    GuardianRelation,
    Guardianship,
    StatusChange,
    StatusChangeKind,
    Student,
    StudentStatus,
)
from xiaowu.students.reference import IdDocumentType

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

GUARDIAN_ATTRIBUTES = ("mobile", "employer", "id_type", "id_number")
# A new student's 入学年月 may lie at most this far ahead (new pupils are entered in summer).
ENROLMENT_LEAD = timedelta(days=366)
EARLIEST_BIRTH = date(1900, 1, 1)


# --------------------------------------------------------------------------- classes
class ClassIndex:
    """The active classes of one school, looked up by name or by (grade, class number)."""

    def __init__(self, classes: Iterable[tuple[int, str, int | None, int | None]]) -> None:
        self.names: dict[int, str] = {}
        self.by_name: dict[str, list[int]] = defaultdict(list)
        self.by_key: dict[tuple[int, int], list[int]] = defaultdict(list)
        for pk, name, grade, number in classes:
            self.names[pk] = name
            self.by_name[class_name_key(name)].append(pk)
            if grade is not None and number:
                self.by_key[(grade, number)].append(pk)

    @classmethod
    def for_school(cls, school: OrgUnit) -> ClassIndex:
        return cls(
            OrgUnit.objects.filter(
                school=school, kind=UnitKind.SCHOOL_CLASS, is_active=True
            ).values_list("pk", "name", "grade", "class_number")
        )

    def resolve(self, grade_text: str, class_text: str) -> int:
        """Return the class id named by the 年级 and 班级 cells; raise ``CellError``."""
        shown = (
            class_text if not grade_text or grade_text in class_text else grade_text + class_text
        )
        candidates = self.by_name.get(class_name_key(class_text), [])
        if not candidates:
            key = class_key(class_text)
            if key is None and grade_text:
                grade, number = grade_number(grade_text), class_number(class_text)
                key = (grade, number) if grade is not None and number else None
            if key is None:
                raise CellError(f"无法识别的班级“{shown}”，请写成 七年级(1)班 的形式。")
            candidates = self.by_key.get(key, [])
        if not candidates:
            raise CellError(f"本校没有班级“{shown}”。")
        if len(candidates) > 1:
            raise CellError(f"本校有多个班级与“{shown}”对应，请填写完整的班级名称。")
        return candidates[0]


# --------------------------------------------------------------------------- plan
LINK_SAME, LINK_CREATE, LINK_UPDATE = "same", "create", "update"


@dataclass
class GuardianLink:
    """One 成员 column group of a row: who, and as what, to the student."""

    slot: int
    target: tuple[Any, ...]
    relation: str | None
    is_custodian: bool | None
    state: str = LINK_CREATE


@dataclass
class GuardianTarget:
    """A guardian the file names: an existing row (``guardian_id``) or one to create."""

    name: str
    mobile: str
    guardian_id: int | None
    current: dict[str, str] = field(default_factory=dict)  # stored values of an existing one
    attributes: dict[str, str] = field(default_factory=dict)  # first value the file gives
    changed: list[str] = field(default_factory=list)


@dataclass
class StudentRow:
    row: int
    values: dict[str, Any]
    class_id: int | None
    links: list[GuardianLink]
    student: Student | None = None
    action: str = ""
    changed: list[str] = field(default_factory=list)
    class_change: bool = False
    link_changes: int = 0  # guardianships to create or update


@dataclass
class StudentPlan:
    school: OrgUnit
    today: date
    table: Table | None
    rows: list[StudentRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    targets: dict[tuple[Any, ...], GuardianTarget] = field(default_factory=dict)
    counts: Counts = field(default_factory=Counts)
    class_names: dict[int, str] = field(default_factory=dict)

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def preview(self) -> list[dict[str, Any]]:
        """The first rows as the preview page shows them (identifiers masked)."""
        result = []
        for row in self.rows[:PREVIEW_ROWS]:
            student = row.student
            name = row.values.get("name") or (student.name if student else "")
            class_id = row.class_id or (student.school_class_id if student else None)
            id_number = row.values.get("id_number") or (student.id_number if student else "")
            result.append(
                {
                    "row": row.row,
                    "name": name,
                    "class": self.class_names.get(class_id, "") if class_id else "",
                    "id_number": mask_id_number(id_number or ""),
                    "action": ACTION_LABELS[row.action],
                    "changes": row.changed
                    + (["班级"] if row.class_change else [])
                    + (["家庭成员"] if row.link_changes else []),
                }
            )
        return result


def _gender_from_id(id_number: str) -> str:
    return Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE


def _check_identity(row: ParsedRow, table: Table, today: date) -> None:
    """Validate the ID number and make birth date and gender agree with it (or fill them)."""
    values = row.values

    def header(key: str) -> str:
        return header_of(table, STUDENT_COLUMNS, key)

    id_number = values.get("id_number")
    id_type = values.get("id_type", IdDocumentType.RESIDENT_ID)
    if id_number and id_type == IdDocumentType.RESIDENT_ID:
        if not id_number_is_valid(id_number):
            row.error(
                header("id_number"),
                "不是有效的 18 位居民身份证号（校验位不符或出生日期不存在）。",
            )
            values.pop("id_number")
        else:
            born = id_birth_date(id_number)
            given = values.get("birth_date")
            if given is None:
                values["birth_date"] = born
                row.derived.add("birth_date")
            elif given != born:
                row.error(
                    header("birth_date"),
                    f"出生日期与身份证件号中的出生日期（{born:%Y-%m-%d}）不一致。",
                )
            gender = _gender_from_id(id_number)
            if "gender" not in values:
                values["gender"] = gender
                row.derived.add("gender")
            elif values["gender"] != gender:
                row.error(
                    header("gender"),
                    "性别与身份证件号不一致（第 17 位奇数为男、偶数为女）。",
                )
    elif id_number and len(id_number) > 18:
        row.error(header("id_number"), "身份证件号不能超过 18 个字符。")
    birth = values.get("birth_date")
    if birth is not None and not EARLIEST_BIRTH <= birth <= today:
        row.error(header("birth_date"), "出生日期不合理（晚于今天或早于 1900 年）。")
    enrolled = values.get("enrolled_on")
    if enrolled is not None and enrolled > today + ENROLMENT_LEAD:
        row.error(header("enrolled_on"), "入学年月不能晚于一年以后。")
    if "disability_type" in values:
        values["has_disability"] = bool(values["disability_type"])


def _guardian_slots(row: ParsedRow, table: Table) -> list[dict[str, Any]]:
    slots: list[dict[str, Any]] = []
    for slot in GUARDIAN_SLOTS:
        prefix = f"guardian{slot}."
        given = {
            key.removeprefix(prefix): row.values.pop(key)
            for key in [key for key in row.values if key.startswith(prefix)]
        }
        if not given:
            continue
        if not given.get("name"):
            row.error(header_of(table, STUDENT_COLUMNS, prefix + "name"), f"请填写成员{slot}姓名。")
            continue
        guardian_id = given.get("id_number")
        if (
            guardian_id
            and given.get("id_type", IdDocumentType.RESIDENT_ID) == IdDocumentType.RESIDENT_ID
            and not id_number_is_valid(guardian_id)
        ):
            row.error(
                header_of(table, STUDENT_COLUMNS, prefix + "id_number"),
                "不是有效的 18 位居民身份证号（校验位不符或出生日期不存在）。",
            )
            continue
        given["slot"] = slot
        slots.append(given)
    return slots


def _fetch_students(
    ids: list[str], numbers: list[str], *, for_update: bool
) -> tuple[dict[str, Student], dict[str, Student]]:
    """Load the students whose ID number or 学籍号 the file names (in chunks)."""
    students = Student.objects.all()
    if for_update:
        students = students.select_for_update()
    by_id: dict[str, Student] = {}
    for chunk in chunked(ids):
        for student in students.filter(id_number__in=chunk):
            by_id[student.id_number or ""] = student
    by_number = {
        student.national_student_number: student
        for student in by_id.values()
        if student.national_student_number
    }
    missing = [number for number in numbers if number not in by_number]
    for chunk in chunked(missing):
        for student in students.filter(national_student_number__in=chunk):
            by_number[student.national_student_number or ""] = student
    return by_id, by_number


def _match(
    row: ParsedRow,
    table: Table,
    school: OrgUnit,
    by_id: dict[str, Student],
    by_number: dict[str, Student],
    matched: dict[int, int],
) -> Student | None:
    """Return the register entry the row names, recording errors for impossible matches."""
    id_header = header_of(table, STUDENT_COLUMNS, "id_number")
    number_header = header_of(table, STUDENT_COLUMNS, "national_student_number")
    by_id_student = by_id.get(row.values.get("id_number", ""))
    by_number_student = by_number.get(row.values.get("national_student_number", ""))
    if (
        by_id_student is not None
        and by_number_student is not None
        and by_id_student.pk != by_number_student.pk
    ):
        row.error(number_header, "身份证件号与全国学籍号分别属于两名不同的在册学生。")
        return None
    student = by_id_student or by_number_student
    if student is None:
        return None
    header = id_header if by_id_student is not None else number_header
    if student.pk in matched:
        row.error(header, f"与第 {matched[student.pk]} 行对应同一名学生。")
        return None
    matched[student.pk] = row.row
    if student.school_id != school.pk:
        row.error(header, "该学生已登记在其他学校的学籍中，请通过转学（转入）办理。")
        return None
    if student.status != StudentStatus.ENROLLED:
        row.error(
            header,
            f"该学生的学籍状态为“{student.get_status_display()}”，导入不能修改，"
            "请先办理复学或转入。",
        )
        return None
    return student


def student_import_plan(
    *, school: OrgUnit, table: Table, today: date, for_update: bool = False
) -> StudentPlan:
    """Validate ``table`` and work out what importing it into ``school`` would change."""
    plan = StudentPlan(school=school, today=today, table=table)
    columns = table.headers.columns
    if "id_number" not in columns and "national_student_number" not in columns:
        plan.errors.append(
            RowError(
                table.header_row,
                "身份证件号",
                "缺少“身份证件号”或“全国学籍号”列，无法核对学生是否已在册。",
            )
        )
    if "school_class" not in columns:
        plan.errors.append(RowError(table.header_row, "班级", "缺少“班级”列。"))
    if plan.errors:
        return plan
    classes = ClassIndex.for_school(school)
    plan.class_names = classes.names
    parsed = parse_rows(table, STUDENT_COLUMNS)
    # The raw cells are not needed any more: free them before the register is loaded.
    table.rows = []

    def header(key: str) -> str:
        return header_of(table, STUDENT_COLUMNS, key)

    first_id: dict[str, int] = {}
    first_number: dict[str, int] = {}
    rows: list[tuple[ParsedRow, StudentRow, list[dict[str, Any]]]] = []
    for parsed_row in parsed:
        values = parsed_row.values
        _check_identity(parsed_row, table, today)
        slots = _guardian_slots(parsed_row, table)
        class_id = None
        grade_text = values.pop("grade", "")
        class_text = values.pop("school_class", "")
        if class_text:
            try:
                class_id = classes.resolve(grade_text, class_text)
            except CellError as exc:
                parsed_row.error(header("school_class"), exc.message)
        id_number = values.get("id_number")
        number = values.get("national_student_number")
        if (
            not id_number
            and not number
            and not any(
                error.column in (header("id_number"), header("national_student_number"))
                for error in parsed_row.errors
            )
        ):
            parsed_row.error(
                header("id_number" if "id_number" in columns else "national_student_number"),
                "身份证件号和全国学籍号至少填写一项。",
            )
        if id_number:
            if id_number in first_id:
                parsed_row.error(
                    header("id_number"), f"与第 {first_id[id_number]} 行的身份证件号重复。"
                )
            else:
                first_id[id_number] = parsed_row.row
        if number:
            if number in first_number:
                parsed_row.error(
                    header("national_student_number"),
                    f"与第 {first_number[number]} 行的全国学籍号重复。",
                )
            else:
                first_number[number] = parsed_row.row
        rows.append((parsed_row, StudentRow(parsed_row.row, values, class_id, []), slots))

    by_id, by_number = _fetch_students(list(first_id), list(first_number), for_update=for_update)
    matched: dict[int, int] = {}
    for parsed_row, row, _slots in rows:
        if parsed_row.errors:
            continue
        row.student = _match(parsed_row, table, school, by_id, by_number, matched)
        if row.student is not None:
            keep_stored_over_derived(parsed_row, row.student)
        elif not parsed_row.errors:
            for key in ("name", "gender"):
                if not row.values.get(key):
                    label = COLUMN_BY_KEY[key].header
                    parsed_row.error(header(key), f"新登记的学生请填写{label}。")
            if row.class_id is None and not any(
                error.column == header("school_class") for error in parsed_row.errors
            ):
                parsed_row.error(header("school_class"), "新登记的学生请填写班级。")

    _check_class_changes(plan, table, rows)
    _plan_guardians(plan, rows)
    for parsed_row, row, _slots in rows:
        plan.rows.append(row)
        if parsed_row.errors:
            row.action = ERROR
            plan.errors.extend(parsed_row.errors)
            continue
        if row.student is None:
            row.action = CREATE
            plan.counts.created += 1
            continue
        row.changed = [
            header(key)
            for key, value in row.values.items()
            if getattr(row.student, key) != value and key != "has_disability"
        ]
        if (
            row.values.get("has_disability") is not None
            and (row.student.has_disability != row.values["has_disability"])
            and header("disability_type") not in row.changed
        ):
            row.changed.append(header("disability_type"))
        guardian_changes = any(plan.targets[link.target].changed for link in row.links)
        if row.changed or row.class_change or row.link_changes or guardian_changes:
            row.action = UPDATE
            plan.counts.updated += 1
        else:
            row.action = UNCHANGED
            plan.counts.unchanged += 1
    plan.errors.sort(key=lambda error: error.row)
    return plan


def _check_class_changes(
    plan: StudentPlan,
    table: Table,
    rows: list[tuple[ParsedRow, StudentRow, list[dict[str, Any]]]],
) -> None:
    moving = {
        row.student.pk: (parsed_row, row)
        for parsed_row, row, _slots in rows
        if not parsed_row.errors
        and row.student is not None
        and row.class_id is not None
        and row.class_id != row.student.school_class_id
    }
    last_dates: dict[int, date] = {}
    for chunk in chunked(list(moving)):
        last_dates.update(
            StatusChange.objects.filter(student_id__in=chunk)
            .values("student_id")
            .annotate(last=Max("effective_on"))
            .values_list("student_id", "last")
        )
    for pk, (parsed_row, row) in moving.items():
        last = last_dates.get(pk)
        if last is not None and last > plan.today:
            parsed_row.error(
                header_of(table, STUDENT_COLUMNS, "school_class"),
                f"该生最近一次异动日期为 {last:%Y-%m-%d}，晚于今天，暂不能调班。",
            )
            continue
        row.class_change = True


def _link_differs(link: GuardianLink, relation: str, is_custodian: bool) -> bool:
    return (link.relation is not None and link.relation != relation) or (
        link.is_custodian is not None and link.is_custodian != is_custodian
    )


@dataclass(frozen=True)
class _KnownGuardian:
    pk: int
    name: str
    mobile: str
    attributes: dict[str, str]


def _plan_guardians(
    plan: StudentPlan, rows: list[tuple[ParsedRow, StudentRow, list[dict[str, Any]]]]
) -> None:
    """Resolve each 成员 to a guardian to reuse or create, and find what would change.

    A guardian with a phone number is shared by everyone who names the same name and phone
    (siblings); without a phone, only the student's own guardian of that name is reused.
    Reads plain value tuples: model instances are built only for what changes.
    """
    live = [(row, slots) for parsed_row, row, slots in rows if slots and not parsed_row.errors]
    if not live:
        return
    attributes = ("name", "mobile", "employer", "id_type", "id_number")
    mobiles = sorted({slot.get("mobile", "") for _row, slots in live for slot in slots} - {""})
    shared: dict[tuple[str, str], _KnownGuardian] = {}
    for chunk in chunked(mobiles):
        for pk, *values in (
            Guardian.objects.filter(mobile__in=chunk).order_by("pk").values_list("pk", *attributes)
        ):
            known = _KnownGuardian(
                pk, values[0], values[1], dict(zip(attributes, values, strict=True))
            )
            shared.setdefault((known.name, known.mobile), known)
    student_ids = [row.student.pk for row, _slots in live if row.student is not None]
    links: dict[int, dict[int, tuple[str, bool]]] = defaultdict(dict)
    linked_by_name: dict[int, dict[str, _KnownGuardian]] = defaultdict(dict)
    for chunk in chunked(student_ids):
        for student_id, guardian_id, relation, is_custodian, *values in (
            Guardianship.objects.filter(student_id__in=chunk)
            .order_by("pk")
            .values_list(
                "student_id",
                "guardian_id",
                "relation",
                "is_custodian",
                *(f"guardian__{name}" for name in attributes),
            )
        ):
            links[student_id][guardian_id] = (relation, is_custodian)
            known = _KnownGuardian(
                guardian_id, values[0], values[1], dict(zip(attributes, values, strict=True))
            )
            linked_by_name[student_id].setdefault(known.name, known)
    # Rows of students already in the register first: a guardian whose phone number changed
    # is found through the student's own link, and siblings added later reuse that guardian.
    live.sort(key=lambda item: item[0].student is None)
    for row, slots in live:
        student_pk = row.student.pk if row.student is not None else None
        for slot in slots:
            name, mobile = slot["name"], slot.get("mobile", "")
            guardian = shared.get((name, mobile)) if mobile else None
            if guardian is None and student_pk is not None:
                guardian = linked_by_name[student_pk].get(name)
            if guardian is not None:
                target: tuple[Any, ...] = ("guardian", guardian.pk)
                if mobile:
                    shared.setdefault((name, mobile), guardian)
            elif mobile:
                target = ("new", name, mobile)
            else:
                target = ("row", row.row, slot["slot"])
            entry = plan.targets.setdefault(
                target,
                GuardianTarget(
                    name,
                    mobile,
                    guardian.pk if guardian else None,
                    current=guardian.attributes if guardian else {},
                ),
            )
            for attribute in GUARDIAN_ATTRIBUTES:
                if slot.get(attribute):
                    entry.attributes.setdefault(attribute, slot[attribute])
            link = GuardianLink(
                slot=slot["slot"],
                target=target,
                relation=slot.get("relation"),
                is_custodian=slot.get("is_custodian"),
            )
            row.links.append(link)
            stored = (
                links[student_pk].get(guardian.pk)
                if student_pk is not None and guardian is not None
                else None
            )
            if stored is None:
                link.state = LINK_CREATE
                row.link_changes += 1
            elif _link_differs(link, *stored):
                link.state = LINK_UPDATE
                row.link_changes += 1
            else:
                link.state = LINK_SAME
    for entry in plan.targets.values():
        if entry.guardian_id is not None:
            entry.changed = [
                attribute
                for attribute, value in entry.attributes.items()
                if entry.current.get(attribute) != value
            ]


# --------------------------------------------------------------------------- apply
@dataclass(frozen=True)
class StudentApplied:
    created: int
    updated: int
    unchanged: int
    class_changes: int
    guardians_created: int
    changed_fields: dict[str, int]


def student_import_apply(*, plan: StudentPlan, actor: User | None) -> StudentApplied:
    """Write ``plan`` (which must have no errors) with bulk queries; the caller holds the
    transaction."""
    if plan.errors:
        raise ValueError("A plan with errors cannot be applied.")
    now = timezone.now()
    today = plan.today
    school_id = plan.school.pk
    actor_id = actor.pk if actor is not None else None
    pinyin = PinyinCache()

    # New students, with what student_register gives them.
    creating: list[tuple[StudentRow, Student, int, date]] = []
    for row in plan.rows:
        if row.action != CREATE or row.class_id is None:
            continue
        start: date = row.values.get("enrolled_on") or today
        student = Student(
            school_id=school_id,
            school_class_id=row.class_id,
            status=StudentStatus.ENROLLED,
            **row.values,
        )
        student.enrolled_on = start
        student.name_pinyin, student.name_initials = pinyin(student.name)
        creating.append((row, student, row.class_id, start))
    Student.objects.bulk_create([student for _r, student, _c, _s in creating], batch_size=500)
    ClassMembership.objects.bulk_create(
        (
            ClassMembership(
                student_id=student.pk, school_id=school_id, school_class_id=class_id, start_on=start
            )
            for _row, student, class_id, start in creating
        ),
        batch_size=2000,
    )
    StatusChange.objects.bulk_create(
        (
            StatusChange(
                student_id=student.pk,
                school_id=school_id,
                kind=StatusChangeKind.ENROLLMENT,
                effective_on=start,
                to_class_id=class_id,
                recorded_by_id=actor_id,
            )
            for _row, student, class_id, start in creating
        ),
        batch_size=2000,
    )
    for row, student, _class_id, _start in creating:
        row.student = student

    # Field and class updates of students already in the register.
    updating = [
        row
        for row in plan.rows
        if row.action == UPDATE and row.student is not None and (row.changed or row.class_change)
    ]
    fields: set[str] = set()
    changed_fields: Counter[str] = Counter()
    moves: list[tuple[Student, int | None, int]] = []
    for row in updating:
        current = row.student
        if current is None:
            continue
        changed = [key for key, value in row.values.items() if getattr(current, key) != value]
        for key in changed:
            setattr(current, key, row.values[key])
        changed_fields.update(changed)
        fields.update(changed)
        if "name" in changed:
            current.name_pinyin, current.name_initials = pinyin(current.name)
            fields.update({"name_pinyin", "name_initials"})
        if row.class_change and row.class_id is not None:
            moves.append((current, current.school_class_id, row.class_id))
            current.school_class_id = row.class_id
            fields.add("school_class")
            changed_fields["school_class"] += 1
        current.version += 1
        current.updated_at = now
    if updating:
        Student.objects.bulk_update(
            [row.student for row in updating if row.student is not None],
            sorted(fields | {"version", "updated_at"}),
            batch_size=500,
        )
    _apply_class_changes(moves, school_id=school_id, today=today, actor_id=actor_id)
    guardians_created = _apply_guardians(plan, now=now)
    return StudentApplied(
        created=plan.counts.created,
        updated=plan.counts.updated,
        unchanged=plan.counts.unchanged,
        class_changes=len(moves),
        guardians_created=guardians_created,
        changed_fields=dict(changed_fields),
    )


def _apply_class_changes(
    moves: list[tuple[Student, int | None, int]],
    *,
    school_id: int,
    today: date,
    actor_id: int | None,
) -> None:
    """调班 dated ``today`` for each moved student, as ``status_change_record`` records it."""
    if not moves:
        return
    open_memberships: list[ClassMembership] = []
    for chunk in chunked([student.pk for student, _old, _new in moves]):
        open_memberships.extend(
            ClassMembership.objects.filter(student_id__in=chunk, end_on__isnull=True)
        )
    # A same-day correction replaces the day's membership instead of leaving an empty one.
    same_day = [m.pk for m in open_memberships if m.start_on >= today]
    for chunk in chunked(same_day):
        ClassMembership.objects.filter(pk__in=chunk).delete()
    closing = [m for m in open_memberships if m.start_on < today]
    for membership in closing:
        membership.end_on = today
    ClassMembership.objects.bulk_update(closing, ["end_on"], batch_size=500)
    ClassMembership.objects.bulk_create(
        ClassMembership(
            student_id=student.pk, school_id=school_id, school_class_id=new_class, start_on=today
        )
        for student, _old, new_class in moves
    )
    StatusChange.objects.bulk_create(
        StatusChange(
            student_id=student.pk,
            school_id=school_id,
            kind=StatusChangeKind.CLASS_CHANGE,
            effective_on=today,
            from_class_id=old_class,
            to_class_id=new_class,
            recorded_by_id=actor_id,
            reason="学籍导入",
        )
        for student, old_class, new_class in moves
    )


def _apply_guardians(plan: StudentPlan, *, now: datetime) -> int:
    creating = [entry for entry in plan.targets.values() if entry.guardian_id is None]
    new_guardians = [
        Guardian(
            name=entry.name,
            mobile=entry.mobile,
            employer=entry.attributes.get("employer", ""),
            id_type=entry.attributes.get("id_type", ""),
            id_number=entry.attributes.get("id_number", ""),
        )
        for entry in creating
    ]
    Guardian.objects.bulk_create(new_guardians, batch_size=1000)
    for entry, guardian in zip(creating, new_guardians, strict=True):
        entry.guardian_id = guardian.pk
    changing = {
        entry.guardian_id: entry
        for entry in plan.targets.values()
        if entry.changed and entry.guardian_id is not None
    }
    for chunk in chunked(list(changing)):
        stored = list(Guardian.objects.filter(pk__in=chunk))
        for guardian in stored:
            for attribute in changing[guardian.pk].changed:
                setattr(guardian, attribute, changing[guardian.pk].attributes[attribute])
            guardian.updated_at = now
        Guardian.objects.bulk_update(stored, [*GUARDIAN_ATTRIBUTES, "updated_at"])
    # Guardianships: create the missing ones, correct relation / custodian flags.
    to_create: dict[tuple[int, int], Guardianship] = {}
    to_update: dict[tuple[int, int], GuardianLink] = {}
    for row in plan.rows:
        if row.student is None or row.action not in (CREATE, UPDATE):
            continue
        for link in row.links:
            guardian_id = plan.targets[link.target].guardian_id
            if guardian_id is None or link.state == LINK_SAME:
                continue
            pair = (row.student.pk, guardian_id)
            if link.state == LINK_CREATE:
                to_create.setdefault(
                    pair,
                    Guardianship(
                        student_id=row.student.pk,
                        guardian_id=guardian_id,
                        relation=link.relation or GuardianRelation.OTHER,
                        is_custodian=True if link.is_custodian is None else link.is_custodian,
                    ),
                )
            else:
                to_update.setdefault(pair, link)
    Guardianship.objects.bulk_create(to_create.values(), batch_size=2000)
    updated: list[Guardianship] = []
    for chunk in chunked(sorted({student_id for student_id, _g in to_update})):
        for stored_link in Guardianship.objects.filter(student_id__in=chunk):
            change = to_update.get((stored_link.student_id, stored_link.guardian_id))
            if change is None:
                continue
            if change.relation is not None:
                stored_link.relation = change.relation
            if change.is_custodian is not None:
                stored_link.is_custodian = change.is_custodian
            stored_link.updated_at = now
            updated.append(stored_link)
    Guardianship.objects.bulk_update(
        updated, ["relation", "is_custodian", "updated_at"], batch_size=500
    )
    return len(new_guardians)
