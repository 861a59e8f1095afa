"""Reading wide score tables: layout, Chinese errors naming row and column, long → wide."""

from __future__ import annotations

import gzip

import numpy as np
import polars as pl
import pytest

from xiaowu.exams.valueadded.sgp.wide import Panel, PanelError, panel_from_long, read_wide

HEADER = "ID,GRADE_2023,GRADE_2024,SS_2023,SS_2024\n"


def _write(tmp_path, text: str, name: str = "panel.csv"):
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_reads_csv_and_gz_with_missing_values(tmp_path):
    text = HEADER + "1,3.0,4.0,500.0,520.0\n2,,4.0,,530\n3,3,,480,\n"
    for name in ("panel.csv", "panel.csv.gz"):
        panel = read_wide(_write(tmp_path, text, name))
        assert panel.years == (2023, 2024)
        assert panel.ids.to_list() == [1, 2, 3]
        assert panel.grades[0].tolist() == [3.0, 4.0]
        assert np.isnan(panel.scores[1, 0])
        assert panel.scores[1, 1] == 530.0
        assert np.isnan(panel.grades[2, 1])


def test_byte_order_mark_and_padded_header(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeff" + HEADER.replace(",", ", ") + "1,3,4,500,520\n").encode("utf-8"))
    panel = read_wide(path)
    assert panel.years == (2023, 2024)
    assert panel.scores[0].tolist() == [500.0, 520.0]


def test_text_ids_are_kept(tmp_path):
    panel = read_wide(_write(tmp_path, HEADER + "G1,3,4,500,520\nG2,3,4,510,530\n"))
    assert panel.ids.to_list() == ["G1", "G2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NAME,GRADE_2023,SS_2023\nx,3,500\n", "缺少学生编号列“ID”"),
        ("ID,X\n1,2\n", "没有找到 GRADE_年份 与 SS_年份 列"),
        ("ID,GRADE_2023,GRADE_2024,SS_2023\n1,3,4,500\n", "缺少成绩列“SS_2024”"),
        ("ID,GRADE_2023,SS_2023,SS_2024\n1,3,500,510\n", "缺少年级列“GRADE_2024”"),
        ("ID,GRADE_2023,SS_2023\n1,3,500\n", "至少需要两个年份"),
        (HEADER + "1,3,4,500,520\n2,3,4,abc,530\n", "第 3 行的“SS_2023”不是数字（如“abc”）"),
        (HEADER + "1,3,4,500,520\n2,3,4.5,510,530\n", "第 3 行的“GRADE_2024”不是整数年级"),
        (HEADER + "1,3,4,500,520\n,3,4,510,530\n", "第 3 行缺少“ID”"),
        (HEADER + "7,3,4,500,520\n7,3,4,510,530\n", "第 2、3 行的“ID”重复（如“7”）"),
        (HEADER + "1,3,,500,520\n", "第 2 行有“SS_2024”成绩但缺少“GRADE_2024”"),
        (HEADER + "1,3,4,inf,520\n", "不是有限数字"),
    ],
)
def test_malformed_files_raise_chinese_errors(tmp_path, text, message):
    with pytest.raises(PanelError) as caught:
        read_wide(_write(tmp_path, text))
    assert message in str(caught.value)


def test_many_bad_rows_are_counted(tmp_path):
    rows = "".join(f"{i},3,4,x{i},520\n" for i in range(1, 9))
    with pytest.raises(PanelError, match="第 2、3、4、5、6 等 8 行的“SS_2023”不是数字"):
        read_wide(_write(tmp_path, HEADER + rows))


def test_missing_or_empty_file(tmp_path):
    with pytest.raises(PanelError, match="文件不存在"):
        read_wide(tmp_path / "nope.csv")
    with pytest.raises(PanelError, match="没有数据行"):
        read_wide(_write(tmp_path, HEADER))


def test_panel_from_long_pivots_by_year():
    frame = pl.DataFrame(
        {
            "student_id": [10, 10, 11, 12, 12],
            "year": [2023, 2024, 2024, 2023, 2024],
            "grade": [7, 8, 8, 7, 8],
            "score": [80.0, 85.0, 90.0, None, 70.0],
        }
    )
    panel = panel_from_long(frame)
    assert panel.years == (2023, 2024)
    assert panel.ids.to_list() == [10, 11, 12]
    assert panel.scores[0].tolist() == [80.0, 85.0]
    assert np.isnan(panel.scores[1, 0])
    assert np.isnan(panel.scores[2, 0])
    assert panel.grades[2].tolist() == [7.0, 8.0]
    with pytest.raises(PanelError, match="同一学生同一年份有多行"):
        panel_from_long(pl.concat([frame, frame.head(1)]))
    with pytest.raises(PanelError, match="缺少列“grade”"):
        panel_from_long(frame.drop("grade"))


def test_panel_checks_shapes():
    with pytest.raises(ValueError, match="years"):
        Panel(pl.Series([1]), (2024, 2023), np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="students, years"):
        Panel(pl.Series([1, 2]), (2023, 2024), np.zeros((1, 2)), np.zeros((1, 2)))
