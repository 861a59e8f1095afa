"""教职工导入表 — the simple staff layout as data: columns, header spellings and readers.

Layout: 姓名, 性别, 出生日期, 身份证号, 手机, 学历, 职称, 岗位类别, 任教学科, 人事状态. Titles
and education accept the names in common use before the 2015 title reform (中学高级教师,
小学一级教师 …) and short forms (本科, 大专). ``staff_export_row`` writes a staff member in
this layout, so that an exported file imports back unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from xiaowu.core.identifiers import mobile_is_valid, normalise_mobile
from xiaowu.core.models import Gender
from xiaowu.core.tabular import (
    CellError,
    Column,
    choice_reader,
    code_text,
    compact_text,
    date_value,
    read_gender,
    read_id_number,
)
from xiaowu.staff.models import Education, PostCategory, ProfessionalTitle, StaffStatus


def _lookup(choices: list[tuple[str, str]], extra: dict[str, str]) -> dict[str, str]:
    table = {compact_text(label).upper(): value for value, label in choices}
    table.update({value.upper(): value for value, _label in choices})
    table.update({compact_text(key).upper(): value for key, value in extra.items()})
    return table


read_education = choice_reader(
    _lookup(
        Education.choices,
        {
            "博士": Education.DOCTORATE,
            "硕士": Education.MASTER,
            "研究生": Education.MASTER,
            "本科": Education.BACHELOR,
            "大学": Education.BACHELOR,
            "大专": Education.ASSOCIATE,
            "专科": Education.ASSOCIATE,
            "中专": Education.SECONDARY,
            "中师": Education.SECONDARY,
            "高中": Education.SECONDARY,
            "职高": Education.SECONDARY,
            "初中": Education.BELOW,
            "初中及以下": Education.BELOW,
            "小学": Education.BELOW,
        },
    ),
    label="学历",
    hint="请填写 博士研究生、硕士研究生、大学本科、大学专科、中专/高中 或 高中以下。",
)
read_title = choice_reader(
    _lookup(
        ProfessionalTitle.choices,
        {
            "正高级": ProfessionalTitle.SENIOR_PLUS,
            "正高": ProfessionalTitle.SENIOR_PLUS,
            "高级": ProfessionalTitle.SENIOR,
            "副高": ProfessionalTitle.SENIOR,
            "中学高级教师": ProfessionalTitle.SENIOR,
            "一级": ProfessionalTitle.FIRST,
            "中级": ProfessionalTitle.FIRST,
            "中学一级教师": ProfessionalTitle.FIRST,
            "小学高级教师": ProfessionalTitle.FIRST,
            "二级": ProfessionalTitle.SECOND,
            "初级": ProfessionalTitle.SECOND,
            "中学二级教师": ProfessionalTitle.SECOND,
            "小学一级教师": ProfessionalTitle.SECOND,
            "三级": ProfessionalTitle.THIRD,
            "中学三级教师": ProfessionalTitle.THIRD,
            "小学二级教师": ProfessionalTitle.THIRD,
            "小学三级教师": ProfessionalTitle.THIRD,
            "无": ProfessionalTitle.NONE,
            "未评": ProfessionalTitle.NONE,
            "未定职级": ProfessionalTitle.NONE,
        },
    ),
    label="职称",
    hint="请填写 正高级教师、高级教师、一级教师、二级教师、三级教师 或 未定级。",
)
read_post_category = choice_reader(
    _lookup(
        PostCategory.choices,
        {
            "专任": PostCategory.FULL_TIME_TEACHER,
            "教师": PostCategory.FULL_TIME_TEACHER,
            "行政": PostCategory.ADMINISTRATIVE,
            "管理人员": PostCategory.ADMINISTRATIVE,
            "教辅": PostCategory.TEACHING_SUPPORT,
            "工勤": PostCategory.WORKER,
            "工勤技能人员": PostCategory.WORKER,
        },
    ),
    label="岗位类别",
    hint="请填写 专任教师、行政人员、教辅人员 或 工勤人员。",
)
read_staff_status = choice_reader(
    _lookup(
        StaffStatus.choices,
        {
            "在岗": StaffStatus.ON_POST,
            "在编": StaffStatus.ON_POST,
            "在职": StaffStatus.ON_POST,
            "借调": StaffStatus.SECONDED_OUT,
            "病假": StaffStatus.LONG_SICK_LEAVE,
        },
    ),
    label="人事状态",
    hint="请填写 在编在岗、调入、借调在外、外来借调、内退、代课、长病假、退休 或 调出。",
)


def read_mobile(value: object) -> str:
    text = normalise_mobile(code_text(value, label="手机"))
    if not mobile_is_valid(text):
        raise CellError("手机号应为 11 位数字、以 1 开头。")
    return text


def read_staff_name(value: object) -> str:
    text = compact_text(value)
    if len(text) > 50:
        raise CellError("姓名不能超过 50 个字符。")
    return text


def read_subject(value: object) -> str:
    text = compact_text(value)
    if len(text) > 20:
        raise CellError("任教学科不能超过 20 个字符。")
    return text


STAFF_COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", read_staff_name, ("教师姓名", "教职工姓名"), required=True, width=10),
    Column("gender", "性别", read_gender, required=True, width=6),
    Column("birth_date", "出生日期", date_value, ("出生年月日",), text=True, width=11),
    Column(
        "id_number",
        "身份证号",
        read_id_number,
        ("身份证件号", "身份证号码", "公民身份号码", "证件号码"),
        required=True,
        text=True,
        width=20,
    ),
    Column("mobile", "手机", read_mobile, ("手机号", "手机号码", "联系电话"), text=True, width=14),
    Column("education", "学历", read_education, ("最高学历",)),
    Column("professional_title", "职称", read_title, ("专业技术职务", "专业技术职称")),
    Column("post_category", "岗位类别", read_post_category, ("岗位", "岗位类型"), required=True),
    Column("subject", "任教学科", read_subject, ("学科", "主要任教学科"), width=10),
    Column("status", "人事状态", read_staff_status, ("状态", "在岗状态")),
)


# --------------------------------------------------------------------------- export
_CHOICE_LABELS: dict[str, dict[str, str]] = {
    "gender": {str(value): str(label) for value, label in Gender.choices},
    "education": {str(value): str(label) for value, label in Education.choices},
    "professional_title": {str(value): str(label) for value, label in ProfessionalTitle.choices},
    "post_category": {str(value): str(label) for value, label in PostCategory.choices},
    "status": {str(value): str(label) for value, label in StaffStatus.choices},
}


def staff_export_row(record: Mapping[str, Any]) -> list[str]:
    """Return the cells of one staff member in ``STAFF_COLUMNS`` order, as the import reads
    them back: choices as their labels, the birth date as ``YYYY-MM-DD``, blanks as "".

    ``record`` holds the StaffMember field values; masking is the caller's job.
    """
    cells: list[str] = []
    for column in STAFF_COLUMNS:
        value = record.get(column.key)
        if value is None or value == "":
            cells.append("")
        elif column.key in _CHOICE_LABELS:
            cells.append(_CHOICE_LABELS[column.key].get(str(value), ""))
        elif isinstance(value, date):
            cells.append(value.isoformat())
        else:
            cells.append(str(value))
    return cells
