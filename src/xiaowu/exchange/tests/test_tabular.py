"""Tolerant cell readers (core.tabular) and the template's class-name parsing (INP-01)."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xiaowu.core.tabular import (
    CellError,
    bool_value,
    code_text,
    compact_text,
    date_value,
    header_map,
    id_number_text,
    normalise_header,
    year_month_value,
)
from xiaowu.students.io import (
    STUDENT_COLUMNS,
    class_key,
    grade_number,
    read_ethnicity,
    read_gender,
    read_left_behind,
    read_overseas,
    read_phone,
    read_study_mode,
)
from xiaowu.students.io import read_id_number as student_id


@pytest.mark.parametrize(
    "cell",
    [
        date(2010, 9, 1),
        datetime(2010, 9, 1, 0, 0, tzinfo=UTC),
        40422.0,
        40422,
        "40422",
        "2010.9.1",
        "2010/9/1",
        "2010-09-01",
        "20100901",
        20100901,
        "2010年9月1日",
        "２０１０年９月１日",
        " 2010-09-01 00:00:00 ",
        "2010. 9. 1",
    ],
)
def test_dates_in_every_spelling(cell):
    assert date_value(cell) == date(2010, 9, 1)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("2010.13.1", "日期“2010.13.1”不存在。"),
        ("2010-02-30", "日期“2010-02-30”不存在。"),
        ("去年九月", "无法识别的日期“去年九月”，请写成 2010-09-01 或 20100901。"),
        (-5, "无法识别的日期“-5”。"),
    ],
)
def test_bad_dates_say_why(cell, message):
    with pytest.raises(CellError) as caught:
        date_value(cell)
    assert caught.value.message == message


@pytest.mark.parametrize(
    "cell",
    ["201009", 201009, "2010.09", 2010.09, "2010-9", "2010年9月", "2010/09", date(2010, 9, 15)],
)
def test_year_month_spellings(cell):
    assert year_month_value(cell) == date(2010, 9, 1)


def test_year_month_needs_a_month():
    with pytest.raises(CellError, match="缺少月份"):
        year_month_value(2010)
    with pytest.raises(CellError, match="年月“201013”不存在"):
        year_month_value("201013")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("是", True),
        ("否", False),
        ("1", True),
        (0, False),
        (1.0, True),
        ("Y", True),
        ("n", False),
        (True, True),
        ("TRUE", True),
        ("有", True),
        ("无", False),
    ],
)
def test_booleans(cell, expected):
    assert bool_value(cell) is expected


def test_identifiers_stay_text_and_lost_digits_are_refused():
    assert code_text(123456789012.0, label="出生地") == "123456789012"
    assert (
        id_number_text(621301990901002.0)
        == "62130119990901002" + id_number_text("621301990901002")[-1]
    )
    assert id_number_text("６２１３０１２０１８０３０５００１ｘ") == "62130120180305001X"
    with pytest.raises(CellError, match="以数字格式保存，末几位已经丢失"):
        id_number_text(621301201803050011.0)
    with pytest.raises(CellError, match="科学计数法"):
        id_number_text("6.21301E+17")
    with pytest.raises(CellError, match="末几位可能已经丢失"):
        code_text(621301201803050011, label="身份证件号")


def test_masked_identifiers_are_refused_with_a_hint():
    with pytest.raises(CellError) as caught:
        id_number_text("621301********001X")
    assert caught.value.message == "身份证件号已脱敏（含 *），不能导入；请使用未脱敏的导出文件。"


def test_fifteen_digit_ids_get_19_and_a_check_character():
    assert id_number_text("110105491231002") == "11010519491231002X"


@pytest.mark.parametrize(
    ("reader", "cell", "expected"),
    [
        (read_gender, "男", "male"),
        (read_gender, 2, "female"),
        (read_gender, "Ｆ", "female"),
        (read_ethnicity, "毛难族", "36"),
        (read_ethnicity, "崩龙族", "46"),
        (read_ethnicity, 1, "01"),
        (read_ethnicity, "蒙古", "02"),
        (read_study_mode, "住校", "2"),
        (read_study_mode, 1, "1"),
        (read_left_behind, "单亲留守", "1"),
        (read_left_behind, "非", "0"),
        (read_left_behind, 2, "2"),
        (read_overseas, "否", "00"),
        (read_overseas, 0, "00"),
        (read_overseas, "华侨", "21"),
        (read_phone, "139-1234-5678", "13912345678"),
        (read_phone, "0931-8123456", "09318123456"),
        (student_id, "62130120180305001x", "62130120180305001X"),
    ],
)
def test_coded_fields_take_codes_or_names(reader, cell, expected):
    assert reader(cell) == expected


def test_unknown_codes_name_the_value():
    with pytest.raises(CellError) as caught:
        read_gender("未知")
    assert caught.value.message == "无法识别的性别“未知”，请填写 男/女 或 1/2。"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("七年级(1)班", (7, 1)),
        ("七年级（1）班", (7, 1)),
        ("七年级 1 班", (7, 1)),
        ("7.1", (7, 1)),
        ("7-12", (7, 12)),
        ("初一(1)班", (7, 1)),
        ("初三2班", (9, 2)),
        ("高二(10)班", (11, 10)),
        ("一年级1班", (1, 1)),
        ("一年级一班", (1, 1)),
        ("十二年级(3)班", (12, 3)),
        ("初中一年级(2)班", (7, 2)),
        ("七(3)班", (7, 3)),
        ("三班", None),
        ("初四(1)班", None),
    ],
)
def test_class_names(text, expected):
    assert class_key(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("七年级", 7),
        ("7", 7),
        ("初一", 7),
        ("高三", 12),
        ("大班", -1),
        ("一", 1),
        ("十三年级", None),
    ],
)
def test_grade_names(text, expected):
    assert grade_number(text) == expected


def test_headers_ignore_marks_spaces_and_width():
    mapping = header_map(
        ["★姓名", "性　别*", "身份证号码", "全国学籍号（必填）", "备注", "姓名"], STUDENT_COLUMNS
    )
    assert mapping.columns == {"name": 0, "gender": 1, "id_number": 2, "national_student_number": 3}
    assert mapping.ignored == ["备注", "姓名"]
    assert normalise_header("  出生日期 * ") == "出生日期"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.integers(), st.floats(allow_nan=False), st.dates(), st.booleans()))
def test_readers_never_crash_and_normalising_is_idempotent(cell):
    """INP-01: every reader either returns a value or raises CellError."""
    for column in STUDENT_COLUMNS:
        with contextlib.suppress(CellError):
            column.read(cell)
    text = compact_text(cell)
    assert compact_text(text) == text
