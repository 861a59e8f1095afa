"""学生基本信息表 — the national student template (analytics.md §6.1) as data.

One ``Column`` per template field: its header (as the 全国中小学生学籍信息管理系统 names it),
the other spellings found in real files, the reader that turns a cell into the stored value
(raising ``CellError`` with a Chinese message), and how the column is written on export.
Class names (七年级(1)班, 初一(1)班, 7.1, 一年级1班) are parsed here too. The import engine
(``xiaowu.exchange``) applies these columns to whole files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from xiaowu.core.identifiers import mobile_is_valid, normalise_mobile
from xiaowu.core.models import Gender
from xiaowu.core.tabular import (
    CellError,
    Column,
    Reader,
    bool_value,
    choice_reader,
    code_text,
    compact_text,
    date_value,
    free_text,
    read_gender,
    read_id_number,
    year_month_value,
)
from xiaowu.org.models import Grade
from xiaowu.students.models import GuardianRelation
from xiaowu.students.reference import (
    ETHNICITIES,
    ETHNICITY_ALIASES,
    DisabilityType,
    HealthStatus,
    IdDocumentType,
    LeftBehind,
    OverseasStatus,
    StudyMode,
)
from xiaowu.students.validation import national_student_number_is_valid

GUARDIAN_SLOTS = (1, 2)


def _limited(max_length: int, label: str, *, compact: bool = True) -> Reader:
    def read(value: object) -> str:
        text = compact_text(value) if compact else free_text(value)
        if len(text) > max_length:
            raise CellError(f"{label}不能超过 {max_length} 个字符。")
        return text

    return read


def _code(max_length: int, label: str) -> Reader:
    def read(value: object) -> str:
        text = code_text(value, label=label)
        if len(text) > max_length:
            raise CellError(f"{label}不能超过 {max_length} 个字符。")
        return text

    return read


def _region(label: str) -> Reader:
    def read(value: object) -> str:
        text = code_text(value, label=label)
        if len(text) > 12:
            raise CellError(f"{label}应为 6 位或 12 位行政区划代码（或不超过 12 个字的地名）。")
        return text

    return read


def _lookup(choices: Sequence[tuple[str, str]], extra: Mapping[str, str]) -> dict[str, str]:
    """Map each code and each label (compact, upper case) to the code, plus ``extra``."""
    table: dict[str, str] = {}
    for code, label in choices:
        table[code.upper()] = code
        table[compact_text(label).upper()] = code
    table.update({key.upper(): code for key, code in extra.items()})
    return table


def _choices(choices: Sequence[tuple[Any, str]]) -> list[tuple[str, str]]:
    return [(str(code), str(label)) for code, label in choices]


_ETHNICITY = _lookup(
    ETHNICITIES,
    {
        **ETHNICITY_ALIASES,
        # Names are often written without 族: 汉, 蒙古, 回.
        **{name[:-1]: code for code, name in ETHNICITIES if name.endswith("族")},
        **{alias[:-1]: code for alias, code in ETHNICITY_ALIASES.items()},
        "外国血统": "98",
    },
)


def read_ethnicity(value: object) -> str:
    text = compact_text(value).upper()
    if text.isdigit() and len(text) <= 2:
        text = text.zfill(2)
    if text in _ETHNICITY:
        return _ETHNICITY[text]
    raise CellError(f"无法识别的民族“{compact_text(value)}”，请填写民族名称（如 汉族）或两位代码。")


def read_nationality(value: object) -> str:
    text = compact_text(value).upper()
    if text in {"中国", "中华人民共和国", "156", "CN"}:
        return "CHN"
    if re.fullmatch(r"[A-Z]{3}", text):
        return text
    raise CellError(f"无法识别的国籍/地区“{compact_text(value)}”，请填写三位字母代码（如 CHN）。")


read_id_type = choice_reader(
    _lookup(IdDocumentType.choices, {"身份证": "1", "居民身份证号": "1", "其它": "Z"}),
    label="身份证件类型",
    hint="请填写 居民身份证、护照 等或代码 1、A 等。",
)
read_overseas = choice_reader(
    _lookup(
        OverseasStatus.choices,
        {"0": "00", "无": "00", "非": "00", "不是": "00", "其它": "99"},
    ),
    label="港澳台侨外",
    hint="不是港澳台侨外人员请填写 否。",
)
read_health = choice_reader(
    _lookup(
        HealthStatus.choices,
        {
            "健康": "1",
            "良好": "1",
            "一般": "2",
            "较弱": "2",
            "慢性病": "3",
            "有残疾": "6",
        },
    ),
    label="健康状况",
    hint="请填写 健康或良好、一般或较弱、有慢性病 或 残疾。",
)
read_study_mode = choice_reader(
    _lookup(
        StudyMode.choices,
        {"走读生": "1", "住读": "2", "住校生": "2", "寄宿": "2", "寄宿生": "2", "住宿": "2"},
    ),
    label="就读方式",
    hint="请填写 走读 或 住校（也可填 1 或 2）。",
)
read_left_behind = choice_reader(
    _lookup(
        LeftBehind.choices,
        {
            "非": "0",
            "否": "0",
            "无": "0",
            "非留守": "0",
            "单亲留守": "1",
            "双亲留守": "2",
            "单亲": "1",
            "双亲": "2",
        },
    ),
    label="留守儿童类型",
    hint="请填写 非、单亲留守 或 双亲留守（也可填 0、1、2）。",
)
_DISABILITY = _lookup(
    DisabilityType.choices,
    {
        **{label.removesuffix("残疾"): code for code, label in DisabilityType.choices},
        "无": "",
        "否": "",
        "非": "",
        "0": "",
        "非残疾": "",
        "无残疾": "",
    },
)
read_disability_type = choice_reader(
    _DISABILITY, label="残疾类型", hint="请填写 视力残疾、听力残疾 等，或 无。"
)


def read_name(value: object) -> str:
    text = compact_text(value)
    if len(text) > 50:
        raise CellError("姓名不能超过 50 个字符。")
    return text


def read_national_student_number(value: object) -> str:
    text = code_text(value, label="全国学籍号")
    if text and not national_student_number_is_valid(text):
        raise CellError("全国学籍号应为 G/J 加 18 位（末位校验正确）或 L 加 18 位数字。")
    return text


_RELATION = _lookup(
    _choices(GuardianRelation.choices),
    {
        "父": GuardianRelation.FATHER,
        "爸爸": GuardianRelation.FATHER,
        "母": GuardianRelation.MOTHER,
        "妈妈": GuardianRelation.MOTHER,
        "祖父": GuardianRelation.GRANDFATHER,
        "外祖父": GuardianRelation.GRANDFATHER,
        "爷爷": GuardianRelation.GRANDFATHER,
        "外公": GuardianRelation.GRANDFATHER,
        "姥爷": GuardianRelation.GRANDFATHER,
        "祖母": GuardianRelation.GRANDMOTHER,
        "外祖母": GuardianRelation.GRANDMOTHER,
        "奶奶": GuardianRelation.GRANDMOTHER,
        "外婆": GuardianRelation.GRANDMOTHER,
        "姥姥": GuardianRelation.GRANDMOTHER,
        "兄弟": GuardianRelation.SIBLING,
        "姐妹": GuardianRelation.SIBLING,
        "哥哥": GuardianRelation.SIBLING,
        "姐姐": GuardianRelation.SIBLING,
        "兄": GuardianRelation.SIBLING,
        "姐": GuardianRelation.SIBLING,
        "其他": GuardianRelation.OTHER,
        "其它": GuardianRelation.OTHER,
        "其他亲属": GuardianRelation.OTHER,
        "叔叔": GuardianRelation.OTHER,
        "伯父": GuardianRelation.OTHER,
        "姑姑": GuardianRelation.OTHER,
        "舅舅": GuardianRelation.OTHER,
        "阿姨": GuardianRelation.OTHER,
        "姨妈": GuardianRelation.OTHER,
    },
)
read_relation = choice_reader(
    _RELATION, label="关系", hint="请填写 父亲、母亲、祖父、祖母、兄弟姐妹 或 其他。"
)
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


def read_phone(value: object) -> str:
    text = normalise_mobile(code_text(value, label="联系电话"))
    if mobile_is_valid(text) or _LANDLINE.match(text):
        return text
    raise CellError("联系电话应为 11 位手机号或带区号的固定电话。")


def _guardian_columns(slot: int) -> list[Column]:
    prefixes = (f"成员{slot}", f"家庭成员{slot}", f"监护人{slot}", f"家长{slot}")

    def names(*suffixes: str) -> tuple[str, ...]:
        return tuple(prefix + suffix for prefix in prefixes for suffix in suffixes)

    key = f"guardian{slot}."
    return [
        Column(key + "name", f"成员{slot}姓名", read_name, names("姓名")[1:], width=10),
        Column(key + "relation", f"成员{slot}关系", read_relation, names("关系", "与学生关系")[1:]),
        Column(
            key + "mobile",
            f"成员{slot}联系电话",
            read_phone,
            names("联系电话", "电话", "手机", "手机号", "手机号码")[1:],
            text=True,
            width=14,
        ),
        Column(
            key + "employer",
            f"成员{slot}工作单位",
            _limited(100, "工作单位", compact=False),
            names("工作单位", "单位")[1:],
            width=20,
        ),
        Column(key + "is_custodian", f"成员{slot}是否监护人", bool_value, names("是否监护人")[1:]),
        Column(
            key + "id_type",
            f"成员{slot}身份证件类型",
            read_id_type,
            names("身份证件类型", "证件类型")[1:],
        ),
        Column(
            key + "id_number",
            f"成员{slot}身份证件号",
            read_id_number,
            names("身份证件号", "身份证号", "身份证号码")[1:],
            text=True,
            width=20,
        ),
    ]


# The column order of the export and of the blank template.
STUDENT_COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", read_name, ("学生姓名",), required=True, width=10),
    Column("gender", "性别", read_gender, ("性别码",), required=True, width=6),
    Column(
        "birth_date",
        "出生日期",
        date_value,
        ("出生年月日", "生日"),
        required=True,
        text=True,
        width=11,
    ),
    Column(
        "birthplace_region",
        "出生地",
        _region("出生地"),
        ("出生地行政区划代码",),
        required=True,
        text=True,
        width=14,
    ),
    Column("native_place", "籍贯", _region("籍贯"), required=True, text=True, width=14),
    Column("ethnicity", "民族", read_ethnicity, ("民族码",), required=True, width=8),
    Column(
        "nationality",
        "国籍/地区",
        read_nationality,
        ("国籍", "国籍地区", "国籍或地区"),
        required=True,
        width=8,
    ),
    Column(
        "id_type",
        "身份证件类型",
        read_id_type,
        ("证件类型", "身份证件类型码"),
        required=True,
        width=12,
    ),
    Column(
        "id_number",
        "身份证件号",
        read_id_number,
        ("身份证号", "身份证号码", "身份证件号码", "证件号码", "公民身份号码"),
        text=True,
        width=20,
    ),
    Column(
        "national_student_number",
        "全国学籍号",
        read_national_student_number,
        ("学籍号", "全国学籍号码", "学籍号码", "全国学籍编号"),
        text=True,
        width=22,
    ),
    Column("overseas_status", "港澳台侨外", read_overseas, ("港澳台侨外码",), required=True),
    Column("health_status", "健康状况", read_health, ("健康状况码",), required=True),
    Column("former_name", "曾用名", _limited(50, "曾用名"), width=10),
    Column(
        "hukou_region",
        "户口所在地",
        _region("户口所在地"),
        ("户口所在地行政区划", "户籍所在地"),
        required=True,
        text=True,
        width=14,
    ),
    Column("class_seat_number", "班内学号", _code(10, "班内学号"), ("学号",), text=True),
    Column("grade", "年级", compact_text, ("所在年级",), required=True, width=8),
    Column("school_class", "班级", compact_text, ("班级名称", "所在班级"), required=True),
    Column(
        "enrolled_on",
        "入学年月",
        year_month_value,
        ("入学时间", "入学日期"),
        required=True,
        text=True,
        width=9,
    ),
    Column("study_mode", "就读方式", read_study_mode, required=True, width=8),
    Column(
        "address",
        "现住址",
        _limited(200, "现住址", compact=False),
        ("现居住地址", "现居住地"),
        required=True,
        width=30,
    ),
    Column(
        "left_behind",
        "是否留守儿童",
        read_left_behind,
        ("留守儿童", "留守儿童类型"),
        required=True,
    ),
    Column(
        "is_migrant_child",
        "是否进城务工人员随迁子女",
        bool_value,
        ("随迁子女", "是否随迁子女", "进城务工人员随迁子女"),
        required=True,
    ),
    Column("is_orphan", "是否孤儿", bool_value, ("孤儿",), required=True),
    Column("disability_type", "残疾类型", read_disability_type),
    Column(
        "is_needy_family",
        "是否建档立卡或低保家庭",
        bool_value,
        ("建档立卡/低保家庭", "是否建档立卡贫困户", "是否低保", "是否建档立卡"),
    ),
    *_guardian_columns(1),
    *_guardian_columns(2),
)
COLUMN_BY_KEY = {column.key: column for column in STUDENT_COLUMNS}
# Columns that identify a student across imports (DUR-05): one of them must be present.
KEY_COLUMNS = ("id_number", "national_student_number")
# Columns a new student needs (gender can come from the ID number).
NEW_STUDENT_FIELDS = ("name", "gender")


# --------------------------------------------------------------------------- classes
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = r"(\d{1,2}|[一二三四五六七八九十]{1,3})"
_GRADE_TEXT = re.compile(r"^(初中?|高中?)?" + _NUMBER + r"(年级)?$")
_KINDERGARTEN = {"小班": Grade.KG_SMALL, "中班": Grade.KG_MIDDLE, "大班": Grade.KG_LARGE}
_CLASS_PATTERNS = (
    # 七年级(1)班, 七年级1班, 初一(1)班, 高一1班, 7年级(1)班, 七(1)班
    re.compile(r"^(?P<grade>(?:初中?|高中?)?" + _NUMBER + r"(?:年级)?)\((?P<number>.+?)\)班?$"),
    re.compile(r"^(?P<grade>(?:初中?|高中?)?" + _NUMBER + r"年级)(?P<number>.+?)班?$"),
    re.compile(r"^(?P<grade>(?:初中?|高中?)" + _NUMBER + r")(?P<number>.+?)班$"),
    # 7.1, 7-1, 7/1
    re.compile(r"^(?P<grade>\d{1,2})[.\-/_](?P<number>\d{1,2})班?$"),
)
_CLASS_NUMBER = re.compile(r"^\(?" + _NUMBER + r"\)?班?$")


def chinese_number(text: str) -> int | None:
    """Return 1–99 from digits or Chinese numerals (一, 十, 十二, 二十三); None otherwise."""
    if text.isdecimal():
        return int(text)
    if not text or any(char not in _CN_DIGITS and char != "十" for char in text):
        return None
    if "十" not in text:
        return _CN_DIGITS[text] if len(text) == 1 else None
    tens, _ten, units = text.partition("十")
    if tens not in _CN_DIGITS and tens != "":
        return None
    if units not in _CN_DIGITS and units != "":
        return None
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def grade_number(text: str) -> int | None:
    """Return the 年级 (1–12, kindergarten −3…−1) of 七年级, 7, 初一, 高二, 大班."""
    text = compact_text(text)
    if text in _KINDERGARTEN:
        return int(_KINDERGARTEN[text])
    match = _GRADE_TEXT.match(text)
    if not match:
        return None
    number = chinese_number(match.group(2))
    if number is None:
        return None
    stage = match.group(1) or ""
    if stage.startswith("初"):
        number = number + 6 if number <= 3 else 0
    elif stage.startswith("高"):
        number = number + 9 if number <= 3 else 0
    return number if 1 <= number <= 12 else None


def class_number(text: str) -> int | None:
    """Return the class number of ``3``, ``(3)``, ``3班``, ``三班``."""
    match = _CLASS_NUMBER.match(compact_text(text))
    return chinese_number(match.group(1)) if match else None


def class_key(text: str) -> tuple[int, int] | None:
    """Return ``(grade, class number)`` of a full class name such as 七年级(1)班 or 7.1."""
    text = compact_text(text)
    for pattern in _CLASS_PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        grade = grade_number(match.group("grade"))
        number = class_number(match.group("number"))
        if grade is not None and number:
            return grade, number
    return None


def class_name_key(name: str) -> str:
    """Return the comparable form of a class name (NFKC, no spaces)."""
    return compact_text(name).upper()


# --------------------------------------------------------------------------- export
def _label(choices: Sequence[tuple[Any, str]]) -> Callable[[object], str]:
    labels = {str(code): str(label) for code, label in choices}
    return lambda value: labels.get(str(value), "") if value not in (None, "") else ""


def _yes_no(value: object) -> str:
    return "是" if value else "否"


def _date8(value: object) -> str:
    return f"{value:%Y%m%d}" if isinstance(value, date) else ""


def _month6(value: object) -> str:
    return f"{value:%Y%m}" if isinstance(value, date) else ""


def _plain(value: object) -> str:
    return "" if value is None else str(value)


_EXPORT_FORMAT: dict[str, Callable[[object], str]] = {
    "gender": _label(Gender.choices),
    "birth_date": _date8,
    "ethnicity": _label(ETHNICITIES),
    "id_type": _label(IdDocumentType.choices),
    "overseas_status": _label(OverseasStatus.choices),
    "health_status": _label(HealthStatus.choices),
    "grade": _label(Grade.choices),
    "enrolled_on": _month6,
    "study_mode": _label(StudyMode.choices),
    "left_behind": _label(LeftBehind.choices),
    "is_migrant_child": _yes_no,
    "is_orphan": _yes_no,
    "disability_type": _label(DisabilityType.choices),
    "is_needy_family": _yes_no,
}
_GUARDIAN_FORMAT: dict[str, Callable[[object], str]] = {
    "relation": _label(GuardianRelation.choices),
    "is_custodian": _yes_no,
    "id_type": _label(IdDocumentType.choices),
}


def student_export_row(
    record: Mapping[str, Any], guardians: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Return the template cells of one student.

    ``record`` holds the Student field values plus ``grade`` and ``school_class`` (the class
    name); ``guardians`` the first two guardians as dicts of ``name``, ``relation``, ``mobile``,
    ``employer``, ``is_custodian``, ``id_type`` and ``id_number``. Masking is the caller's job.
    """
    cells: list[str] = []
    for column in STUDENT_COLUMNS:
        if column.key.startswith("guardian"):
            slot_text, _dot, attribute = column.key.partition(".")
            slot = int(slot_text.removeprefix("guardian"))
            if slot > len(guardians):
                cells.append("")
                continue
            value = guardians[slot - 1].get(attribute)
            cells.append(_GUARDIAN_FORMAT.get(attribute, _plain)(value))
            continue
        cells.append(_EXPORT_FORMAT.get(column.key, _plain)(record.get(column.key)))
    return cells
