"""Request and response shapes of the REST API (ninja ``Schema``, i.e. Pydantic models).

Output schemas read ORM objects (``from_attributes``); values that need work — labels,
masking, prefetched relations — come from ``resolve_<field>`` static methods, so that no
view can forget them. Personal numbers are masked here and nowhere else in the API.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator

from xiaowu.accounts.roles import Role
from xiaowu.core.masking import mask_mobile
from xiaowu.org.models import Grade, SchoolType, UnitKind

if TYPE_CHECKING:
    from xiaowu.accounts.models import RoleAssignment, User
    from xiaowu.org.models import OrgUnit

# Ids are 64-bit on every supported database; larger numbers are a client error (422), not an
# overflow in the database driver (500).
MAX_ID = 2**63 - 1
SEARCH_MAX_LENGTH = 100

# Attributes the queries in ``xiaowu.api.queries`` attach to the objects they return.
ROLES_ATTR = "api_role_assignments"
HEAD_TEACHERS_ATTR = "api_head_teacher_assignments"


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
