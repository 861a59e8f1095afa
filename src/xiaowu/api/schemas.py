"""Request and response shapes of the REST API (ninja ``Schema``, i.e. Pydantic models).

Output schemas read ORM objects (``from_attributes``); values that need work — labels,
masking, prefetched relations — come from ``resolve_<field>`` static methods, so that no
view can forget them. Personal numbers are masked here and nowhere else in the API.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from django.db import models
from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict

from xiaowu.accounts.roles import Role
from xiaowu.api.privacy import may_read_special_groups
from xiaowu.core.masking import mask_id_number, mask_mobile
from xiaowu.core.models import Gender
from xiaowu.org.models import Grade, SchoolType, UnitKind
from xiaowu.staff.models import (
    Education,
    HonourLevel,
    HonourTitle,
    PostCategory,
    ProfessionalTitle,
    StaffStatus,
    TeachingRole,
)
from xiaowu.students.models import GuardianRelation, StatusChangeKind, StudentStatus
from xiaowu.students.reference import (
    ETHNICITIES,
    DisabilityType,
    IdDocumentType,
    LeftBehind,
    StudyMode,
)

if TYPE_CHECKING:
    from xiaowu.accounts.models import RoleAssignment, User
    from xiaowu.org.models import OrgUnit
    from xiaowu.staff.models import StaffHonour, StaffMember, StaffStatusPeriod, TeachingAssignment
    from xiaowu.students.models import Guardian, Guardianship, StatusChange, Student

# Ids are 64-bit on every supported database; larger numbers are a client error (422), not an
# overflow in the database driver (500).
MAX_ID = 2**63 - 1
SEARCH_MAX_LENGTH = 100

# Attributes the queries in ``xiaowu.api.queries`` attach to the objects they return.
ROLES_ATTR = "api_role_assignments"
HEAD_TEACHERS_ATTR = "api_head_teacher_assignments"
CHILDREN_ATTR = "api_visible_guardianships"
STATUS_PERIODS_ATTR = "api_status_periods"
HONOURS_ATTR = "api_honours"

ETHNICITY_LABELS = dict(ETHNICITIES)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("不能包含空字符。")
    return value.strip()


SearchText = Annotated[
    str,
    Field(
        max_length=SEARCH_MAX_LENGTH,
        description="按名称、代码或拼音（全拼或首字母，如 “qsxx”）搜索",
    ),
    AfterValidator(_no_nul),
]


# --------------------------------------------------------------------------- errors


class ErrorOut(Schema):
    detail: str = Field(description="错误说明（中文）")


class ValidationErrorItem(Schema):
    loc: list[str | int] = Field(description='出错位置，如 ["query", "limit"]')
    msg: str = Field(description="错误说明")
    type: str = Field(description="错误类型")


class ValidationErrorOut(Schema):
    detail: str = Field(description="错误说明（中文）")
    errors: list[ValidationErrorItem] = Field(description="逐项的参数错误")


# --------------------------------------------------------------------------- query filters


class OrgUnitFilters(Schema):
    kind: UnitKind | None = Field(None, description="机构类型")
    school_id: int | None = Field(None, ge=1, le=MAX_ID, description="只看该学校内的机构")
    under_id: int | None = Field(None, ge=1, le=MAX_ID, description="只看该机构及其下级")
    search: SearchText = ""


class ClassFilters(Schema):
    school_id: int | None = Field(None, ge=1, le=MAX_ID, description="学校 id")
    grade: int | None = Field(
        None, ge=min(Grade.values), le=max(Grade.values), description="年级（幼儿园为负数）"
    )
    search: SearchText = ""


class SchoolFilters(Schema):
    school_type: SchoolType | None = Field(None, description="学校类型")
    search: SearchText = ""


class UserFilters(Schema):
    search: Annotated[
        str,
        Field(max_length=SEARCH_MAX_LENGTH, description="按姓名（含拼音）或用户名搜索"),
        AfterValidator(_no_nul),
    ] = ""
    role: Role | None = Field(None, description="只看在调用者范围内担任该角色的用户")
    unit_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="只看在该机构及其下级担任角色的用户"
    )


# --------------------------------------------------------------------------- accounts


class RoleAssignmentOut(Schema):
    id: int
    role: Role = Field(description="角色代码")
    role_label: str = Field(description="角色名称")
    org_unit_id: int = Field(description="任职机构 id")
    org_unit_name: str = Field(description="任职机构名称")
    valid_from: date | None = Field(description="生效日期")
    valid_until: date | None = Field(description="失效日期")
    is_current: bool = Field(description="今天是否有效")

    @staticmethod
    def resolve_role_label(obj: RoleAssignment) -> str:
        return Role(obj.role).label

    @staticmethod
    def resolve_org_unit_name(obj: RoleAssignment) -> str:
        return obj.org_unit.name

    @staticmethod
    def resolve_is_current(obj: RoleAssignment) -> bool:
        today = timezone.localdate()
        return (obj.valid_from is None or obj.valid_from <= today) and (
            obj.valid_until is None or obj.valid_until >= today
        )


def masked_mobile(user: User) -> str | None:
    return mask_mobile(user.mobile) if user.mobile else None


class MeOut(Schema):
    id: int
    username: str = Field(description="用户名")
    full_name: str = Field(description="姓名")
    mobile: str | None = Field(description="手机号（脱敏，如 138****5678）")
    roles: list[RoleAssignmentOut] = Field(description="当前有效的角色")
    permissions: list[str] = Field(description="在其范围内拥有的权限")


class UserOut(Schema):
    id: int
    username: str = Field(description="用户名")
    full_name: str = Field(description="姓名")
    mobile: str | None = Field(description="手机号（始终脱敏，如 138****5678）")
    is_active: bool = Field(description="是否启用")
    roles: list[RoleAssignmentOut] = Field(description="调用者范围内可见的角色分配")

    @staticmethod
    def resolve_mobile(obj: User) -> str | None:
        return masked_mobile(obj)

    @staticmethod
    def resolve_roles(obj: User) -> Any:
        # No default: a user that did not come through the scoped query must not be rendered.
        return getattr(obj, ROLES_ATTR)


# --------------------------------------------------------------------------- org


class OrgUnitOut(Schema):
    id: int
    code: str = Field(description="机构代码")
    name: str = Field(description="名称")
    kind: UnitKind = Field(description="机构类型")
    kind_label: str = Field(description="机构类型名称")
    parent_id: int | None = Field(description="上级机构 id")
    school_id: int | None = Field(description="所属学校 id（学校以上为空）")
    school_type: SchoolType | None = Field(description="学校类型（仅学校）")
    grade: int | None = Field(description="年级（级部、班级）")
    class_number: int | None = Field(description="班号（仅班级）")
    is_active: bool = Field(description="是否启用")

    @staticmethod
    def resolve_kind_label(obj: OrgUnit) -> str:
        return UnitKind(obj.kind).label

    @staticmethod
    def resolve_school_type(obj: OrgUnit) -> str | None:
        return obj.school_type or None


class OrgUnitChildOut(OrgUnitOut):
    child_count: int = Field(description="直接下级机构数")


class PersonOut(Schema):
    id: int = Field(description="用户 id")
    full_name: str = Field(description="姓名")


class ClassOut(Schema):
    id: int
    code: str = Field(description="机构代码")
    name: str = Field(description="班级名称")
    grade: int | None = Field(description="年级（幼儿园为负数）")
    grade_label: str | None = Field(description="年级名称")
    class_number: int | None = Field(description="班号")
    parent_id: int | None = Field(description="上级机构 id（学校、校区或级部）")
    school_id: int | None = Field(description="所属学校 id")
    school_name: str | None = Field(description="所属学校名称")
    is_active: bool = Field(description="是否启用")
    head_teachers: list[PersonOut] = Field(description="班主任（当前有效的任命）")
    student_count: int = Field(description="在校学生数")

    @staticmethod
    def resolve_grade_label(obj: OrgUnit) -> str | None:
        return Grade(obj.grade).label if obj.grade is not None else None

    @staticmethod
    def resolve_school_name(obj: OrgUnit) -> str | None:
        return obj.school.name if obj.school is not None else None

    @staticmethod
    def resolve_head_teachers(obj: OrgUnit) -> list[dict[str, Any]]:
        assignments: list[RoleAssignment] = getattr(obj, HEAD_TEACHERS_ATTR)
        seen: set[int] = set()
        people = []
        for assignment in assignments:
            if assignment.user_id not in seen:
                seen.add(assignment.user_id)
                people.append({"id": assignment.user_id, "full_name": assignment.user.full_name})
        return people


class SchoolOut(Schema):
    id: int
    code: str = Field(description="学校代码")
    name: str = Field(description="学校名称")
    school_type: SchoolType | None = Field(description="学校类型")
    school_type_label: str | None = Field(description="学校类型名称")
    parent_id: int | None = Field(description="上级机构 id（学区或教育局）")
    address: str = Field(description="地址")
    is_active: bool = Field(description="是否启用")
    class_count: int = Field(description="班级数（启用的）")
    student_count: int = Field(description="在校学生数")

    @staticmethod
    def resolve_school_type(obj: OrgUnit) -> str | None:
        return obj.school_type or None

    @staticmethod
    def resolve_school_type_label(obj: OrgUnit) -> str | None:
        return SchoolType(obj.school_type).label if obj.school_type else None


# --------------------------------------------------------------------------- calendar


class TermOut(Schema):
    id: int
    name: str = Field(description="学期名称，如 “2025—2026学年第一学期”")
    school_year_id: int = Field(description="学年 id")
    school_year_name: str = Field(description="学年，如 “2025-2026”")
    number: int = Field(description="学期序号：1 第一学期（秋季），2 第二学期（春季）")
    start_on: date = Field(description="开始日期")
    end_on: date = Field(description="结束日期")
    is_current: bool = Field(description="是否当前学期")


# --------------------------------------------------------------------------- students

StudentGroup = Literal["left_behind", "migrant", "disability", "orphan", "needy", "boarding"]

SPECIAL_GROUP_NOTE = (
    "特殊群体字段，属敏感个人信息：仅当调用者在该生所在学校（或其上级）拥有“学籍管理”"
    "或“查看完整个人信息”权限时返回，否则为 null。"
)


def _text_ok(value: str) -> str:
    """Reject text a database cannot store (NUL, unpaired surrogates) as a client error."""
    if "\x00" in value:
        raise ValueError("不能包含空字符。")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("包含无效字符。") from exc
    return value.strip()


Reason = Annotated[str, Field(max_length=200, description="原因"), AfterValidator(_text_ok)]
Counterpart = Annotated[
    str, Field(max_length=100, description="转入来源/转出去向"), AfterValidator(_text_ok)
]
DocumentNumber = Annotated[str, Field(max_length=50, description="文号"), AfterValidator(_text_ok)]
Note = Annotated[str, Field(max_length=2000, description="备注"), AfterValidator(_text_ok)]


class StudentFilters(Schema):
    school_id: int | None = Field(None, ge=1, le=MAX_ID, description="学校 id")
    class_id: int | None = Field(None, ge=1, le=MAX_ID, description="班级 id")
    grade: int | None = Field(
        None, ge=min(Grade.values), le=max(Grade.values), description="年级（幼儿园为负数）"
    )
    status: StudentStatus | None = Field(None, description="学籍状态")
    group: list[StudentGroup] = Field(
        default_factory=list,
        description=(
            "特殊群体（可重复，取交集）：left_behind 留守儿童、migrant 随迁子女、disability 残疾、"
            "orphan 孤儿、needy 建档立卡/低保家庭、boarding 住校生。除 boarding 外，按特殊群体"
            "筛选需要“学籍管理”或“查看完整个人信息”权限（否则 403），且只返回调用者有权查看"
            "特殊群体信息的学校的学生。"
        ),
    )
    search: Annotated[
        str,
        Field(
            max_length=SEARCH_MAX_LENGTH,
            description="按姓名（含拼音、首字母）搜索，或输入完整的全国学籍号、身份证件号精确查找",
        ),
        AfterValidator(_no_nul),
    ] = ""


_V = TypeVar("_V")


def _special(obj: Student, context: Any, value: _V) -> _V | None:
    """Return ``value`` when the caller may read the student's special groups, else None."""
    return value if may_read_special_groups(context["request"].user, obj.school_id) else None


def _label(choices: type[models.TextChoices], value: str) -> str | None:
    return choices(value).label if value else None


class StudentOut(Schema):
    id: int
    name: str = Field(description="姓名")
    former_name: str = Field(description="曾用名")
    gender: Gender = Field(description="性别")
    gender_label: str = Field(description="性别名称")
    birth_date: date | None = Field(description="出生日期")
    id_type: IdDocumentType = Field(description="身份证件类型代码")
    id_type_label: str = Field(description="身份证件类型")
    id_number: str | None = Field(description="身份证件号（始终脱敏，如 620102**********1234）")
    national_student_number: str | None = Field(
        description="全国学籍号（含身份证号，始终脱敏，如 G62010**********1234）"
    )
    ethnicity: str = Field(description="民族代码（GB 3304）")
    ethnicity_label: str = Field(description="民族")
    nationality: str = Field(description="国籍/地区代码")
    birthplace_region: str = Field(description="出生地行政区划代码")
    native_place: str = Field(description="籍贯行政区划代码")
    hukou_region: str = Field(description="户口所在地行政区划代码")
    overseas_status: str = Field(description="港澳台侨外代码（00 为否）")
    school_id: int = Field(description="学校 id")
    school_name: str = Field(description="学校名称")
    school_class_id: int | None = Field(description="班级 id（转出、休学等学生为其原班级）")
    school_class_name: str | None = Field(description="班级名称")
    grade: int | None = Field(description="年级（幼儿园为负数）")
    status: StudentStatus = Field(description="学籍状态代码")
    status_label: str = Field(description="学籍状态")
    class_seat_number: str = Field(description="班内学号")
    enrolled_on: date | None = Field(description="入学年月")
    study_mode: str = Field(description="就读方式代码：1 走读，2 住校")
    study_mode_label: str = Field(description="就读方式")
    health_status: str | None = Field(
        description="健康状况代码：1 健康或良好，2 一般或较弱，3 有慢性病，6 残疾。"
        + SPECIAL_GROUP_NOTE
    )
    left_behind: str | None = Field(
        description="留守儿童代码：0 非留守，1 单亲留守，2 双亲留守。" + SPECIAL_GROUP_NOTE
    )
    left_behind_label: str | None = Field(description="留守儿童。" + SPECIAL_GROUP_NOTE)
    is_migrant_child: bool | None = Field(description="进城务工人员随迁子女。" + SPECIAL_GROUP_NOTE)
    has_disability: bool | None = Field(description="残疾。" + SPECIAL_GROUP_NOTE)
    disability_type: str | None = Field(
        description="残疾类型代码（无残疾为空字符串）。" + SPECIAL_GROUP_NOTE
    )
    disability_type_label: str | None = Field(description="残疾类型。" + SPECIAL_GROUP_NOTE)
    is_orphan: bool | None = Field(description="孤儿。" + SPECIAL_GROUP_NOTE)
    is_needy_family: bool | None = Field(description="建档立卡/低保家庭。" + SPECIAL_GROUP_NOTE)

    @staticmethod
    def resolve_gender_label(obj: Student) -> str:
        return Gender(obj.gender).label

    @staticmethod
    def resolve_id_type_label(obj: Student) -> str:
        return IdDocumentType(obj.id_type).label

    @staticmethod
    def resolve_id_number(obj: Student) -> str | None:
        return mask_id_number(obj.id_number) if obj.id_number else None

    @staticmethod
    def resolve_national_student_number(obj: Student) -> str | None:
        number = obj.national_student_number
        return mask_id_number(number) if number else None

    @staticmethod
    def resolve_ethnicity_label(obj: Student) -> str:
        return ETHNICITY_LABELS.get(obj.ethnicity, obj.ethnicity)

    @staticmethod
    def resolve_school_name(obj: Student) -> str:
        return obj.school.name

    @staticmethod
    def resolve_school_class_name(obj: Student) -> str | None:
        return obj.school_class.name if obj.school_class is not None else None

    @staticmethod
    def resolve_grade(obj: Student) -> int | None:
        return obj.school_class.grade if obj.school_class is not None else None

    @staticmethod
    def resolve_status_label(obj: Student) -> str:
        return StudentStatus(obj.status).label

    @staticmethod
    def resolve_study_mode_label(obj: Student) -> str:
        return StudyMode(obj.study_mode).label

    @staticmethod
    def resolve_health_status(obj: Student, context: Any) -> str | None:
        return _special(obj, context, obj.health_status)

    @staticmethod
    def resolve_left_behind(obj: Student, context: Any) -> str | None:
        return _special(obj, context, obj.left_behind)

    @staticmethod
    def resolve_left_behind_label(obj: Student, context: Any) -> str | None:
        return _special(obj, context, LeftBehind(obj.left_behind).label)

    @staticmethod
    def resolve_is_migrant_child(obj: Student, context: Any) -> bool | None:
        return _special(obj, context, obj.is_migrant_child)

    @staticmethod
    def resolve_has_disability(obj: Student, context: Any) -> bool | None:
        return _special(obj, context, obj.has_disability)

    @staticmethod
    def resolve_disability_type(obj: Student, context: Any) -> str | None:
        return _special(obj, context, obj.disability_type)

    @staticmethod
    def resolve_disability_type_label(obj: Student, context: Any) -> str | None:
        label = _label(DisabilityType, obj.disability_type)
        return _special(obj, context, label)

    @staticmethod
    def resolve_is_orphan(obj: Student, context: Any) -> bool | None:
        return _special(obj, context, obj.is_orphan)

    @staticmethod
    def resolve_is_needy_family(obj: Student, context: Any) -> bool | None:
        return _special(obj, context, obj.is_needy_family)


# --------------------------------------------------------------------------- guardians


def _masked_id(value: str | None) -> str | None:
    return mask_id_number(value) if value else None


def _masked_phone(value: str) -> str | None:
    return mask_mobile(value) if value else None


class GuardianFilters(Schema):
    search: Annotated[
        str,
        Field(max_length=SEARCH_MAX_LENGTH, description="按监护人姓名搜索"),
        AfterValidator(_no_nul),
    ] = ""


class GuardianChildOut(Schema):
    student_id: int = Field(description="学生 id")
    student_name: str = Field(description="学生姓名")
    relation: GuardianRelation = Field(description="与学生的关系代码")
    relation_label: str = Field(description="与学生的关系")
    is_custodian: bool = Field(description="是否监护人")

    @staticmethod
    def resolve_student_name(obj: Guardianship) -> str:
        return obj.student.name

    @staticmethod
    def resolve_relation_label(obj: Guardianship) -> str:
        return GuardianRelation(obj.relation).label


class GuardianOut(Schema):
    id: int
    name: str = Field(description="姓名")
    mobile: str | None = Field(description="联系电话（始终脱敏，如 138****5678）")
    employer: str = Field(description="工作单位")
    id_type: str = Field(description="身份证件类型代码（未登记为空字符串）")
    id_number: str | None = Field(description="身份证件号（始终脱敏）")
    has_account: bool = Field(description="是否已关联家长账号")
    children: list[GuardianChildOut] = Field(description="调用者可见的子女（监护关系）")

    @staticmethod
    def resolve_mobile(obj: Guardian) -> str | None:
        return _masked_phone(obj.mobile)

    @staticmethod
    def resolve_id_number(obj: Guardian) -> str | None:
        return _masked_id(obj.id_number)

    @staticmethod
    def resolve_has_account(obj: Guardian) -> bool:
        return obj.user_id is not None

    @staticmethod
    def resolve_children(obj: Guardian) -> Any:
        # No default: a guardian that did not come through the scoped query must not be shown.
        return getattr(obj, CHILDREN_ATTR)


class StudentGuardianOut(Schema):
    guardian_id: int = Field(description="监护人 id")
    name: str = Field(description="姓名")
    mobile: str | None = Field(description="联系电话（始终脱敏）")
    employer: str = Field(description="工作单位")
    id_type: str = Field(description="身份证件类型代码（未登记为空字符串）")
    id_number: str | None = Field(description="身份证件号（始终脱敏）")
    relation: GuardianRelation = Field(description="与学生的关系代码")
    relation_label: str = Field(description="与学生的关系")
    is_custodian: bool = Field(description="是否监护人")

    @staticmethod
    def resolve_name(obj: Guardianship) -> str:
        return obj.guardian.name

    @staticmethod
    def resolve_mobile(obj: Guardianship) -> str | None:
        return _masked_phone(obj.guardian.mobile)

    @staticmethod
    def resolve_employer(obj: Guardianship) -> str:
        return obj.guardian.employer

    @staticmethod
    def resolve_id_type(obj: Guardianship) -> str:
        return obj.guardian.id_type

    @staticmethod
    def resolve_id_number(obj: Guardianship) -> str | None:
        return _masked_id(obj.guardian.id_number)

    @staticmethod
    def resolve_relation_label(obj: Guardianship) -> str:
        return GuardianRelation(obj.relation).label


# --------------------------------------------------------------------------- status changes


class StatusChangeFilters(Schema):
    school_id: int | None = Field(None, ge=1, le=MAX_ID, description="学校 id")
    kind: StatusChangeKind | None = Field(None, description="异动类型")
    start_on: date | None = Field(None, description="异动日期不早于")
    end_on: date | None = Field(None, description="异动日期不晚于")


class StatusChangeIn(Schema):
    """One 学籍异动 to record; the rules are those of ``students.services.status_change_record``."""

    model_config = ConfigDict(extra="forbid")

    kind: StatusChangeKind = Field(
        description=(
            "异动类型。转入、复学、留级、跳级、调班须指定新班级；转出、休学、辍学、毕业、死亡不需要。"
        )
    )
    effective_on: date = Field(description="异动日期（不早于该生最近一次异动）")
    to_class_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="新班级 id（须为调用者范围内的启用班级）"
    )
    reason: Reason = ""
    counterpart: Counterpart = ""
    document_number: DocumentNumber = ""
    note: Note = ""


class StatusChangeOut(Schema):
    id: int
    student_id: int = Field(description="学生 id")
    student_name: str = Field(description="学生姓名")
    school_id: int = Field(description="办理学校 id（转入为新学校）")
    school_name: str = Field(description="办理学校名称")
    kind: StatusChangeKind = Field(description="异动类型代码")
    kind_label: str = Field(description="异动类型")
    effective_on: date = Field(description="异动日期")
    from_class_id: int | None = Field(description="原班级 id")
    from_class_name: str | None = Field(description="原班级名称")
    to_class_id: int | None = Field(description="新班级 id")
    to_class_name: str | None = Field(description="新班级名称")
    reason: str = Field(description="原因")
    counterpart: str = Field(description="转入来源/转出去向")
    document_number: str = Field(description="文号")
    note: str = Field(description="备注")
    recorded_by_name: str | None = Field(description="登记人姓名")
    recorded_at: datetime = Field(description="登记时间")

    @staticmethod
    def resolve_student_name(obj: StatusChange) -> str:
        return obj.student.name

    @staticmethod
    def resolve_school_name(obj: StatusChange) -> str:
        return obj.school.name

    @staticmethod
    def resolve_kind_label(obj: StatusChange) -> str:
        return StatusChangeKind(obj.kind).label

    @staticmethod
    def resolve_from_class_name(obj: StatusChange) -> str | None:
        return obj.from_class.name if obj.from_class is not None else None

    @staticmethod
    def resolve_to_class_name(obj: StatusChange) -> str | None:
        return obj.to_class.name if obj.to_class is not None else None

    @staticmethod
    def resolve_recorded_by_name(obj: StatusChange) -> str | None:
        return obj.recorded_by.full_name if obj.recorded_by is not None else None

    @staticmethod
    def resolve_recorded_at(obj: StatusChange) -> datetime:
        return obj.created_at


# --------------------------------------------------------------------------- staff


class StaffFilters(Schema):
    unit_id: int | None = Field(None, ge=1, le=MAX_ID, description="只看该机构及其下级的教职工")
    status: StaffStatus | None = Field(None, description="人事状态")
    post_category: PostCategory | None = Field(None, description="岗位类别")
    subject: Annotated[
        str, Field(max_length=20, description="任教学科，如 “数学”"), AfterValidator(_no_nul)
    ] = ""
    search: Annotated[
        str,
        Field(max_length=SEARCH_MAX_LENGTH, description="按姓名（含拼音、首字母）搜索"),
        AfterValidator(_no_nul),
    ] = ""


class StaffOut(Schema):
    id: int
    name: str = Field(description="姓名")
    gender: Gender = Field(description="性别")
    gender_label: str = Field(description="性别名称")
    birth_date: date | None = Field(description="出生日期")
    id_number: str | None = Field(description="身份证号（始终脱敏）")
    mobile: str | None = Field(description="手机（始终脱敏，如 138****5678）")
    org_unit_id: int = Field(description="所在单位 id")
    org_unit_name: str = Field(description="所在单位名称")
    school_id: int | None = Field(description="所属学校 id（学区机关人员为空）")
    post_category: PostCategory = Field(description="岗位类别代码")
    post_category_label: str = Field(description="岗位类别")
    status: StaffStatus = Field(description="人事状态代码")
    status_label: str = Field(description="人事状态")
    subject: str = Field(description="任教学科")
    education: str = Field(description="学历代码（未登记为空字符串）")
    education_label: str | None = Field(description="学历")
    professional_title: ProfessionalTitle = Field(description="职称代码")
    professional_title_label: str = Field(description="职称")
    started_work_on: date | None = Field(description="参加工作时间")
    user_id: int | None = Field(description="关联账号 id")

    @staticmethod
    def resolve_gender_label(obj: StaffMember) -> str:
        return Gender(obj.gender).label

    @staticmethod
    def resolve_id_number(obj: StaffMember) -> str | None:
        return _masked_id(obj.id_number)

    @staticmethod
    def resolve_mobile(obj: StaffMember) -> str | None:
        return _masked_phone(obj.mobile)

    @staticmethod
    def resolve_org_unit_name(obj: StaffMember) -> str:
        return obj.org_unit.name

    @staticmethod
    def resolve_school_id(obj: StaffMember) -> int | None:
        return obj.org_unit.school_id

    @staticmethod
    def resolve_post_category_label(obj: StaffMember) -> str:
        return PostCategory(obj.post_category).label

    @staticmethod
    def resolve_status_label(obj: StaffMember) -> str:
        return StaffStatus(obj.status).label

    @staticmethod
    def resolve_education_label(obj: StaffMember) -> str | None:
        return _label(Education, obj.education)

    @staticmethod
    def resolve_professional_title_label(obj: StaffMember) -> str:
        return ProfessionalTitle(obj.professional_title).label


class StaffStatusPeriodOut(Schema):
    id: int
    status: StaffStatus = Field(description="人事状态代码")
    status_label: str = Field(description="人事状态")
    start_on: date = Field(description="起始日期")
    end_on: date | None = Field(description="结束日期（不含；当前状态为空）")
    counterpart: str = Field(description="借调/调动单位")
    note: str = Field(description="备注")

    @staticmethod
    def resolve_status_label(obj: StaffStatusPeriod) -> str:
        return StaffStatus(obj.status).label


class StaffHonourOut(Schema):
    id: int
    title: HonourTitle = Field(description="称号代码")
    title_label: str = Field(description="称号")
    title_text: str = Field(description="称号全称")
    level: HonourLevel = Field(description="级别代码")
    level_label: str = Field(description="级别")
    subject: str = Field(description="学科")
    awarded_on: date = Field(description="授予日期")
    issuer: str = Field(description="授予单位")

    @staticmethod
    def resolve_title_label(obj: StaffHonour) -> str:
        return HonourTitle(obj.title).label

    @staticmethod
    def resolve_level_label(obj: StaffHonour) -> str:
        return HonourLevel(obj.level).label


class StaffDetailOut(StaffOut):
    status_periods: list[StaffStatusPeriodOut] = Field(description="人事状态（早的在前）")
    honours: list[StaffHonourOut] = Field(description="荣誉称号（新的在前）")

    @staticmethod
    def resolve_status_periods(obj: StaffMember) -> Any:
        return getattr(obj, STATUS_PERIODS_ATTR)

    @staticmethod
    def resolve_honours(obj: StaffMember) -> Any:
        return getattr(obj, HONOURS_ATTR)


class TeachingAssignmentFilters(Schema):
    term_id: int | None = Field(None, ge=1, le=MAX_ID, description="学期 id")
    class_id: int | None = Field(None, ge=1, le=MAX_ID, description="班级 id")
    staff_id: int | None = Field(None, ge=1, le=MAX_ID, description="教职工 id")
    school_id: int | None = Field(None, ge=1, le=MAX_ID, description="学校 id")


class TeachingAssignmentOut(Schema):
    id: int
    term_id: int = Field(description="学期 id")
    term_name: str = Field(description="学期名称")
    school_id: int | None = Field(description="学校 id")
    school_class_id: int = Field(description="班级 id")
    school_class_name: str = Field(description="班级名称")
    staff_id: int = Field(description="教职工 id")
    staff_name: str = Field(description="教师姓名")
    role: TeachingRole = Field(
        description="类型代码：subject_teacher 任课教师，head_teacher 班主任"
    )
    role_label: str = Field(description="类型")
    subject: str = Field(description="学科（班主任为空字符串）")
    weekly_periods: int | None = Field(description="周课时")

    @staticmethod
    def resolve_term_name(obj: TeachingAssignment) -> str:
        return str(obj.term)

    @staticmethod
    def resolve_school_id(obj: TeachingAssignment) -> int | None:
        return obj.school_class.school_id

    @staticmethod
    def resolve_school_class_name(obj: TeachingAssignment) -> str:
        return obj.school_class.name

    @staticmethod
    def resolve_staff_name(obj: TeachingAssignment) -> str:
        return obj.staff.name

    @staticmethod
    def resolve_role_label(obj: TeachingAssignment) -> str:
        return TeachingRole(obj.role).label
