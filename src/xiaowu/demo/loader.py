"""Loading a demo plan into the database, wiping demo data, and the ``demo_data`` entry point.

The plan is written in bulk, without per-row services or audit rows (one audit row records the
whole load). The largest append-only tables (class memberships, 异动, guardianships, status
periods) are written with plain multi-row INSERTs: building a Django model instance per row
costs more than the database does, and at scale 20 these are several hundred thousand rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from xiaowu.accounts.models import ApiToken, RoleAssignment, User
from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.demo.exams import demo_exams_create, demo_exams_wipe
from xiaowu.demo.generator import (
    AGE_COHORT_SOURCE,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DEMO_USERNAMES,
    DemoPlan,
    DemoSummary,
    demo_plan_build,
    school_years,
)
from xiaowu.demo.layouts import CURRENT_YEAR
from xiaowu.jobs.models import Job
from xiaowu.org.models import (
    AllianceKind,
    AllianceMembership,
    OrgUnit,
    OrgUnitClosure,
    ResearchCluster,
    SchoolAlliance,
    SchoolYear,
    SchoolYearRollover,
    Term,
    UnitKind,
)
from xiaowu.org.services import closure_rebuild
from xiaowu.staff.models import (
    StaffHonour,
    StaffMember,
    StaffStatusPeriod,
    TeachingAssignment,
)
from xiaowu.students.models import (
    AgeCohortPopulation,
    ClassMembership,
    Guardian,
    Guardianship,
    StatusChange,
    StatusChangeAttachment,
    Student,
)

_T = TypeVar("_T")

BATCH = 1000


class DemoDataExistsError(Exception):
    """The database already holds an organisation tree and ``force`` was not given."""


def _batched(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    batch: list[_T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """INSERT ``rows`` (values of ``fields``; foreign keys as ids) into ``model``'s table.

    Timestamps (``auto_now``/``auto_now_add``) are set to now and every other field not named
    gets its default, as ``Model.save`` would; dates are adapted for the database. Returns the
    number of rows written.
    """
    meta = model._meta
    ops = connection.ops
    quote = ops.quote_name
    now = timezone.now()
    named: list[models.Field[Any, Any]] = []
    for name in fields:
        field = meta.get_field(name)
        if not isinstance(field, models.Field):  # pragma: no cover - a programming error
            raise TypeError(f"{model.__name__}.{name} is no column")
        named.append(field)
    extra: list[tuple[models.Field[Any, Any], Any]] = []
    for field in meta.concrete_fields:
        if field.primary_key or field in named:
            continue
        auto = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        extra.append((field, now if auto else field.get_default()))
    columns = [str(field.column) for field in named] + [str(field.column) for field, _ in extra]

    def adapter(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
        if isinstance(field, models.DateTimeField):
            return ops.adapt_datetimefield_value
        if isinstance(field, models.DateField):
            return ops.adapt_datefield_value
        return None

    def adapted(field: models.Field[Any, Any], value: Any) -> Any:
        adapt = adapter(field)
        return value if adapt is None or value is None else adapt(value)

    adapters = [adapter(field) for field in named]
    tail = tuple(adapted(field, value) for field, value in extra)
    # Table and column names come from the model, not from input.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(meta.db_table),
        ", ".join(quote(column) for column in columns),
        ", ".join(["%s"] * len(columns)),
    )
    written = 0
    with connection.cursor() as cursor:
        for batch in _batched(rows, 2000):
            params = [
                tuple(
                    value if adapt is None or value is None else adapt(value)
                    for adapt, value in zip(adapters, row, strict=True)
                )
                + tail
                for row in batch
            ]
            cursor.executemany(sql, params)
            written += len(params)
    return written


def _free_usernames(plan: DemoPlan) -> dict[str, str]:
    """Map each planned username to one not yet taken in the database (usually itself)."""
    taken = {name.lower() for name in User.objects.values_list("username", flat=True)}
    planned = {account.username for account in plan.accounts}
    result: dict[str, str] = {}
    for account in plan.accounts:
        name = account.username
        if name in taken:
            suffix = 2
            while f"{name}{suffix}" in taken or f"{name}{suffix}" in planned:
                suffix += 1
            taken.add(f"{name}{suffix}")
            name = f"{name}{suffix}"
        result[account.username] = name
    return result


class _PinyinCache:
    """Pinyin keys per distinct name: pupils' names repeat at city scale."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, str]] = {}

    def __call__(self, text: str) -> tuple[str, str]:
        keys = self.keys.get(text)
        if keys is None:
            keys = self.keys[text] = pinyin_keys(text)
        return keys


def _load_calendar(plan: DemoPlan) -> Term:
    """Create the two school years with their terms; return the plan's current term."""
    term: Term | None = None
    for name, start_on, end_on, terms in school_years(CURRENT_YEAR):
        year = SchoolYear.objects.create(name=name, start_on=start_on, end_on=end_on)
        for created in Term.objects.bulk_create(
            Term(school_year=year, number=number, start_on=start, end_on=end)
            for number, (start, end) in enumerate(terms, start=1)
        ):
            if (created.start_on, created.end_on) == plan.term:
                term = created
    if term is None:  # pragma: no cover - current_term picks one of these terms
        raise LookupError(plan.term)
    return term


def _load_tree(plan: DemoPlan, keys: _PinyinCache) -> dict[str, int]:
    unit_ids: dict[str, int] = {}
    for depth in sorted({unit.depth for unit in plan.units}):
        batch: list[OrgUnit] = []
        for unit in plan.units:
            if unit.depth != depth:
                continue
            pinyin, initials = keys(unit.name)
            school_code = unit.school_code if unit.school_code != unit.code else None
            batch.append(
                OrgUnit(
                    code=unit.code,
                    name=unit.name,
                    kind=unit.kind,
                    parent_id=unit_ids[unit.parent_code] if unit.parent_code else None,
                    school_id=unit_ids[school_code] if school_code else None,
                    depth=unit.depth,
                    school_type=unit.school_type,
                    office_type=unit.office_type,
                    grade=unit.grade,
                    class_number=unit.class_number,
                    entry_year=unit.entry_year,
                    subject=unit.subject,
                    address=unit.address,
                    sort_order=unit.sort_order,
                    name_pinyin=pinyin,
                    name_initials=initials,
                )
            )
        OrgUnit.objects.bulk_create(batch, batch_size=BATCH)
        unit_ids.update((unit.code, unit.pk) for unit in batch)
    OrgUnit.objects.filter(kind=UnitKind.SCHOOL, school__isnull=True).update(school_id=F("id"))
    closure_rebuild(
        (unit_ids[unit.code], unit_ids[unit.parent_code] if unit.parent_code else None)
        for unit in plan.units
    )
    return unit_ids


def _load_accounts(plan: DemoPlan, keys: _PinyinCache) -> dict[str, int]:
    usernames = _free_usernames(plan)
    taken_mobiles = set(User.objects.exclude(mobile=None).values_list("mobile", flat=True))
    users: list[User] = []
    for account in plan.accounts:
        pinyin, initials = keys(account.full_name)
        user = User(
            username=usernames[account.username],
            full_name=account.full_name,
            mobile=account.mobile if account.mobile not in taken_mobiles else None,
            name_pinyin=pinyin,
            name_initials=initials,
        )
        # Only the demo logins can log in (validators are deliberately not run on the demo
        # password); the other accounts wait for an administrator to set a password.
        if account.demo_login:
            user.set_password(DEMO_PASSWORD)
        else:
            user.set_unusable_password()
        users.append(user)
    User.objects.bulk_create(users, batch_size=BATCH)
    return {account.username: user.pk for account, user in zip(plan.accounts, users, strict=True)}


def _load_staff(
    plan: DemoPlan, keys: _PinyinCache, unit_ids: dict[str, int], user_ids: dict[str, int]
) -> dict[str, int]:
    staff: list[StaffMember] = []
    for member in plan.staff:
        pinyin, initials = keys(member.name)
        staff.append(
            StaffMember(
                org_unit_id=unit_ids[member.school_code],
                user_id=user_ids[member.username] if member.username else None,
                name=member.name,
                gender=member.gender,
                birth_date=member.birth_date,
                id_number=member.id_number,
                mobile=member.mobile,
                post_category=member.post_category,
                status=member.status,
                subject=member.subject,
                education=member.education,
                professional_title=member.professional_title,
                started_work_on=member.started_work_on,
                name_pinyin=pinyin,
                name_initials=initials,
            )
        )
    StaffMember.objects.bulk_create(staff, batch_size=BATCH)
    staff_ids = {member.id_number: row.pk for member, row in zip(plan.staff, staff, strict=True)}
    _insert_rows(
        StaffStatusPeriod,
        ("staff", "status", "start_on", "end_on", "counterpart", "note"),
        (
            (staff_ids[p.staff_id_number], p.status, p.start_on, p.end_on, p.counterpart, p.note)
            for p in plan.staff_periods
        ),
    )
    StaffHonour.objects.bulk_create(
        (
            StaffHonour(
                staff_id=staff_ids[h.staff_id_number],
                title=h.title,
                title_text=h.title_text,
                level=h.level,
                subject=h.subject,
                awarded_on=h.awarded_on,
                issuer=h.issuer,
            )
            for h in plan.honours
        ),
        batch_size=BATCH,
    )
    return staff_ids


STUDENT_FIELDS = (
    "school",
    "school_class",
    "status",
    "name",
    "gender",
    "birth_date",
    "id_number",
    "national_student_number",
    "ethnicity",
    "birthplace_region",
    "native_place",
    "hukou_region",
    "health_status",
    "class_seat_number",
    "enrolled_on",
    "study_mode",
    "address",
    "left_behind",
    "is_migrant_child",
    "has_disability",
    "disability_type",
    "is_orphan",
    "is_needy_family",
    "name_pinyin",
    "name_initials",
)


def _ids_by_id_number(model: type[Student] | type[Guardian], after: int) -> dict[str, int]:
    """Read back the ids of rows just inserted (those above ``after``), by ID number."""
    rows = model._default_manager.filter(pk__gt=after).values_list("id_number", "pk")
    return {id_number: pk for id_number, pk in rows if id_number}


def _last_pk(model: type[Student] | type[Guardian]) -> int:
    return model._default_manager.order_by("-pk").values_list("pk", flat=True).first() or 0


def _load_students(plan: DemoPlan, keys: _PinyinCache, unit_ids: dict[str, int]) -> dict[str, int]:
    after = _last_pk(Student)
    _insert_rows(
        Student,
        STUDENT_FIELDS,
        (
            (
                unit_ids[pupil.school_code],
                unit_ids[pupil.class_code],
                pupil.status,
                pupil.name,
                pupil.gender,
                pupil.birth_date,
                pupil.id_number,
                pupil.national_student_number or None,
                pupil.ethnicity,
                pupil.birthplace_region,
                pupil.native_place,
                pupil.hukou_region,
                pupil.health_status,
                pupil.class_seat_number,
                pupil.enrolled_on,
                pupil.study_mode,
                pupil.address,
                pupil.left_behind,
                pupil.is_migrant_child,
                pupil.has_disability,
                pupil.disability_type,
                pupil.is_orphan,
                pupil.is_needy_family,
                *keys(pupil.name),
            )
            for pupil in plan.students
        ),
    )
    # ID numbers are unique in the register, and every demo pupil has one.
    student_ids = _ids_by_id_number(Student, after)
    _insert_rows(
        ClassMembership,
        ("student", "school", "school_class", "start_on", "end_on"),
        (
            (
                student_ids[m.student_id_number],
                unit_ids[m.school_code],
                unit_ids[m.class_code],
                m.start_on,
                m.end_on,
            )
            for m in plan.memberships
        ),
    )
    _insert_rows(
        StatusChange,
        (
            "student",
            "school",
            "kind",
            "effective_on",
            "from_class",
            "to_class",
            "reason",
            "counterpart",
            "document_number",
        ),
        (
            (
                student_ids[e.student_id_number],
                unit_ids[e.school_code],
                e.kind,
                e.effective_on,
                unit_ids[e.from_class_code] if e.from_class_code else None,
                unit_ids[e.to_class_code] if e.to_class_code else None,
                e.reason,
                e.counterpart,
                e.document_number,
            )
            for e in plan.status_changes
        ),
    )
    return student_ids


def _load_guardians(plan: DemoPlan, student_ids: dict[str, int], user_ids: dict[str, int]) -> None:
    after = _last_pk(Guardian)
    _insert_rows(
        Guardian,
        ("name", "mobile", "employer", "id_type", "id_number", "user"),
        (
            (
                g.name,
                g.mobile,
                g.employer,
                "1",
                g.id_number,
                user_ids[g.username] if g.username else None,
            )
            for g in plan.guardians
        ),
    )
    # Every demo guardian has an ID number of its own (the plan never repeats one).
    guardian_ids = _ids_by_id_number(Guardian, after)
    _insert_rows(
        Guardianship,
        ("student", "guardian", "relation", "is_custodian"),
        (
            (
                student_ids[g.student_id_number],
                guardian_ids[plan.guardians[g.guardian_index].id_number],
                g.relation,
                g.is_custodian,
            )
            for g in plan.guardianships
        ),
    )


def _load_teaching_and_roles(
    plan: DemoPlan,
    unit_ids: dict[str, int],
    user_ids: dict[str, int],
    staff_ids: dict[str, int],
    term: Term,
) -> None:
    assignments = [
        TeachingAssignment(
            staff_id=staff_ids[t.staff_id_number],
            school_class_id=unit_ids[t.class_code],
            term=term,
            role=t.role,
            subject=t.subject,
            weekly_periods=t.weekly_periods,
        )
        for t in plan.teaching
    ]
    TeachingAssignment.objects.bulk_create(assignments, batch_size=BATCH)
    RoleAssignment.objects.bulk_create(
        (
            RoleAssignment(
                user_id=user_ids[role.username],
                role=role.role,
                org_unit_id=unit_ids[role.unit_code],
                valid_from=role.valid_from,
                valid_until=role.valid_until,
                # As ``staff.services._sync_role`` notes the assignment behind the role.
                note=(
                    f"任课安排 #{assignments[role.assignment_index].pk}"
                    if role.assignment_index is not None
                    else role.note
                ),
            )
            for role in plan.roles
        ),
        batch_size=BATCH,
    )


def _load_groupings(plan: DemoPlan, unit_ids: dict[str, int]) -> None:
    for alliance_plan in plan.alliances:
        alliance = SchoolAlliance.objects.create(
            code=alliance_plan.code,
            name=alliance_plan.name,
            kind=AllianceKind.DISTRICT_ALLIANCE,
            owner_id=unit_ids[alliance_plan.owner_code],
            lead_school_id=unit_ids[alliance_plan.lead_code],
            founded_on=alliance_plan.founded_on,
        )
        AllianceMembership.objects.bulk_create(
            AllianceMembership(
                alliance=alliance,
                school_id=unit_ids[code],
                joined_on=alliance_plan.founded_on,
            )
            for code in alliance_plan.member_codes
        )
    for cluster_plan in plan.clusters:
        cluster = ResearchCluster.objects.create(
            code=cluster_plan.code,
            name=cluster_plan.name,
            owner_id=unit_ids[cluster_plan.owner_code],
            subject=cluster_plan.subject,
            grade=cluster_plan.grade,
            lead_school_id=unit_ids[cluster_plan.lead_code],
        )
        cluster.member_schools.set([unit_ids[code] for code in cluster_plan.member_codes])


def _load_rollovers(plan: DemoPlan, unit_ids: dict[str, int], term: Term) -> None:
    """The demo's classes are generated in this school year's grades: record every school as
    rolled over into it, so that 学年升级 offers the next school year, not this one again."""
    year = term.school_year
    now = timezone.now()
    SchoolYearRollover.objects.bulk_create(
        SchoolYearRollover(
            school_id=unit_ids[unit.code],
            school_year=year,
            graduated_on=year.start_on - timedelta(days=1),
            performed_at=now,
            summary={"source": "演示数据：班级按本学年年级生成"},
        )
        for unit in plan.units
        if unit.kind == UnitKind.SCHOOL
    )


@transaction.atomic
def demo_plan_load(*, plan: DemoPlan) -> dict[str, int]:
    """Write ``plan`` to the database in bulk; return the unit ids by code.

    Expects no organisation tree in the database (``closure_rebuild`` replaces the closure).
    """
    keys = _PinyinCache()
    term = _load_calendar(plan)
    unit_ids = _load_tree(plan, keys)
    user_ids = _load_accounts(plan, keys)
    staff_ids = _load_staff(plan, keys, unit_ids, user_ids)
    student_ids = _load_students(plan, keys, unit_ids)
    _load_guardians(plan, student_ids, user_ids)
    _load_teaching_and_roles(plan, unit_ids, user_ids, staff_ids, term)
    _load_groupings(plan, unit_ids)
    _load_rollovers(plan, unit_ids, term)
    AgeCohortPopulation.objects.bulk_create(
        AgeCohortPopulation(
            org_unit_id=unit_ids[cohort.unit_code],
            school_year=term.school_year,
            age_from=cohort.age_from,
            age_to=cohort.age_to,
            headcount=cohort.headcount,
            source=AGE_COHORT_SOURCE,
        )
        for cohort in plan.age_cohorts
    )
    return unit_ids


# --------------------------------------------------------------------------- wiping


def demo_data_wipe() -> None:
    """Delete the organisation tree and everything the demo generator creates.

    Accounts are deleted too, except superusers (the demo usernames always go). Audit rows
    are append-only and stay. Raises ``ProtectedError`` when rows of other modules still
    refer to the tree. Tables are emptied children first, so that each delete is one
    statement rather than a cascade collected row by row.
    """
    demo_exams_wipe()
    # Background jobs are ephemeral and point at units (PROTECT): they go with the tree.
    Job.objects.all().delete()
    SchoolYearRollover.objects.all().delete()  # PROTECT references to schools and years
    linked_users = (
        Q(username__in=DEMO_USERNAMES)
        | Q(pk__in=RoleAssignment.objects.values("user_id"))
        | Q(pk__in=StaffMember.objects.filter(user__isnull=False).values("user_id"))
        | Q(pk__in=Guardian.objects.filter(user__isnull=False).values("user_id"))
    )
    user_ids = list(
        User.objects.filter(linked_users)
        .exclude(Q(is_superuser=True) & ~Q(username__in=DEMO_USERNAMES))
        .values_list("pk", flat=True)
    )
    for model in (
        StatusChangeAttachment,
        StatusChange,
        ClassMembership,
        Guardianship,
        Guardian,
        Student,
        AgeCohortPopulation,
        TeachingAssignment,
        StaffStatusPeriod,
        StaffHonour,
        StaffMember,
        RoleAssignment,
    ):
        model._default_manager.all().delete()
    ApiToken.objects.filter(user_id__in=user_ids).delete()
    User.objects.filter(pk__in=user_ids).delete()
    ResearchCluster.objects.all().delete()
    AllianceMembership.objects.all().delete()
    SchoolAlliance.objects.all().delete()
    OrgUnitClosure.objects.all().delete()
    # Detach the tree first: ``parent`` and ``school`` are PROTECT references within it.
    OrgUnit.objects.update(parent=None, school=None)
    OrgUnit.objects.all().delete()
    Term.objects.all().delete()
    SchoolYear.objects.all().delete()


# --------------------------------------------------------------------------- entry point


@dataclass(frozen=True)
class DemoResult:
    plan: DemoPlan
    summary: DemoSummary
    wiped: bool


@transaction.atomic
def demo_district_create(
    *, scale: int = 1, seed: int = DEFAULT_SEED, force: bool = False, today: date | None = None
) -> DemoResult:
    """Build and load the demo district; refuse a non-empty database unless ``force``.

    Raises ``DemoDataExistsError`` when an organisation tree exists and ``force`` is false, and
    ``ProtectedError`` when ``force`` cannot wipe it because other data refers to it.
    """
    wiped = False
    if OrgUnit.objects.exists():
        if not force:
            raise DemoDataExistsError("数据库中已有组织机构。")
        demo_data_wipe()
        wiped = True
    elif User.objects.filter(username__in=DEMO_USERNAMES).exists():
        if not force:
            raise DemoDataExistsError("数据库中已有演示账号（admin、teacher 等）。")
        demo_data_wipe()
        wiped = True
    plan = demo_plan_build(scale=scale, seed=seed, today=today)
    unit_ids = demo_plan_load(plan=plan)
    exams = demo_exams_create(seed=seed, today=plan.today)
    summary = plan.summary()
    bureau = OrgUnit.objects.get(pk=unit_ids["B01"])
    audit_record(
        actor=None,
        action=AuditAction.IMPORT,
        event="demo.demo_data",
        target=bureau,
        org_unit_id=bureau.pk,
        actor_label="xiaowu demo_data",
        changes={
            "scale": scale,
            "seed": seed,
            "wiped": wiped,
            "schools": summary.schools,
            "classes": summary.classes,
            "staff": summary.staff,
            "students": summary.students,
            "guardians": summary.guardians,
            "status_changes": sum(n for _, n in summary.status_changes),
            "teaching_assignments": summary.teaching_assignments,
            "accounts": summary.accounts,
            "exams": exams.exams,
            "exam_scores": exams.scores,
        },
    )
    return DemoResult(plan=plan, summary=summary, wiped=wiped)
