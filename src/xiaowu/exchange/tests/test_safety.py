"""Hostile uploads are refused before any parser runs (security.md INP-02, INP-03, INP-04)."""

from __future__ import annotations

import io
import resource
import struct
import time
import zipfile

import openpyxl
import pytest

from xiaowu.exchange import checks
from xiaowu.exchange.models import ImportBatch
from xiaowu.exchange.reader import read_table
from xiaowu.exchange.safety import UploadRejectedError, inspect_upload
from xiaowu.exchange.services import import_preview
from xiaowu.exchange.tests.sheets import (
    minimal_parts,
    sheet_xml,
    write_csv,
    write_xls,
    write_xlsx,
    xlsx_from_parts,
)
from xiaowu.students.io import STUDENT_COLUMNS

MB = 1024 * 1024


def _rejected(name: str, data: bytes) -> UploadRejectedError:
    with pytest.raises(UploadRejectedError) as caught:
        inspect_upload(name, data)
    return caught.value


def _bomb(path, *, megabytes: int):
    """A workbook whose sheet inflates to ``megabytes`` of zeros, written in 1 MB chunks."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in minimal_parts(sheet_xml(["姓名"])).items():
            if name != "xl/worksheets/sheet1.xml":
                archive.writestr(name, content)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"0" * MB
            for _ in range(megabytes):
                member.write(chunk)
    return path.read_bytes()


def test_inp03_zip_bomb_is_rejected_quickly_without_inflating(tmp_path):
    data = _bomb(tmp_path / "bomb.xlsx", megabytes=400)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()

    error = _rejected("bomb.xlsx", data)

    assert time.perf_counter() - started < 1
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 50 * 1024
    assert error.message == "文件解压后超过 160 MB，已拒绝（疑似压缩炸弹）。"
    assert len(data) < MB


def test_inp03_compression_ratio_over_100_is_rejected(tmp_path):
    data = _bomb(tmp_path / "ratio.xlsx", megabytes=20)

    assert _rejected("ratio.xlsx", data).message == "文件压缩比异常，已拒绝（疑似压缩炸弹）。"


def test_inp03_member_that_lies_about_its_size_is_caught_while_inflating(tmp_path):
    content = "".join(f"<!-- {n:07d} -->" for n in range(200_000)).encode()
    path = xlsx_from_parts(tmp_path / "liar.xlsx", minimal_parts(sheet_xml(["姓名"]) + content))
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    struct.pack_into("<L", data, info.header_offset + 22, 1000)
    central = data.find(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(info.filename)] != info.filename.encode():
        central = data.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<L", data, central + 24, 1000)

    error = _rejected("liar.xlsx", bytes(data))

    assert error.message == "文件结构异常（解压后大小与声明不符），已拒绝（疑似压缩炸弹）。"


def test_inp03_too_many_members_are_rejected(tmp_path):
    parts = minimal_parts(sheet_xml(["姓名"]))
    parts.update({f"xl/media/image{n}.png": b"x" for n in range(1001)})
    data = xlsx_from_parts(tmp_path / "many.xlsx", parts).read_bytes()

    assert _rejected("many.xlsx", data).message == "文件结构异常（压缩包内文件过多），已拒绝。"


def test_inp03_uncompressed_cap_is_a_setting(tmp_path, settings):
    settings.XIAOWU_IMPORT_MAX_UNCOMPRESSED_BYTES = 1 * MB
    rows = [["姓名", "现住址"]] + [[f"学生{n}", f"青石路{n}号"] for n in range(40_000)]
    data = write_xlsx(tmp_path / "big.xlsx", rows).read_bytes()

    assert _rejected("big.xlsx", data).message == "文件解压后超过 1 MB，已拒绝（疑似压缩炸弹）。"


def test_inp02_macro_enabled_files_are_rejected(tmp_path):
    plain = write_xlsx(tmp_path / "plain.xlsx", [["姓名"], ["张三"]]).read_bytes()
    parts = minimal_parts(sheet_xml(["姓名"]))
    parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0 macro"
    with_vba = xlsx_from_parts(tmp_path / "vba.xlsx", parts).read_bytes()
    macro_parts = minimal_parts(sheet_xml(["姓名"]))
    macro_parts["[Content_Types].xml"] = macro_parts["[Content_Types].xml"].replace(
        b"sheet.main+xml", b"sheet.macroEnabled.main+xml"
    )
    macro_type = xlsx_from_parts(tmp_path / "type.xlsx", macro_parts).read_bytes()
    xls = write_xls(tmp_path / "plain.xls", [["姓名"], ["张三"]]).read_bytes()
    xls_vba = xls + "_VBA_PROJECT_CUR".encode("utf-16-le")

    assert inspect_upload("plain.xlsx", plain).file_format == "xlsx"
    assert inspect_upload("plain.xls", xls).file_format == "xls"
    assert _rejected("名单.xlsm", plain).message == (
        "不接受启用宏的文件（如 .xlsm）。请另存为 .xlsx 后再上传。"
    )
    assert _rejected("vba.xlsx", with_vba).message == (
        "不接受包含宏（VBA）的文件。请另存为 .xlsx 后再上传。"
    )
    assert _rejected("type.xlsx", macro_type).message == (
        "不接受启用宏的文件。请另存为 .xlsx 后再上传。"
    )
    assert _rejected("macro.xls", xls_vba).message == (
        "不接受包含宏（VBA）的文件。请删除宏或另存为 .xlsx 后再上传。"
    )


def test_inp02_renamed_executable_and_wrong_types_are_rejected(tmp_path):
    executable = b"MZ\x90\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode"
    xlsx = write_xlsx(tmp_path / "real.xlsx", [["姓名"], ["张三"]]).read_bytes()

    assert _rejected("名单.xlsx", executable).message == (
        "文件内容不是 Excel 工作簿（.xlsx），请检查文件。"
    )
    assert _rejected("名单.xls", executable).message.startswith(
        "文件内容不是 Excel 97-2003 工作簿（.xls）"
    )
    assert _rejected("名单.csv", executable).message == "文件内容不是 CSV 文本，请检查文件。"
    assert _rejected("名单.csv", xlsx).message == "文件内容不是 CSV 文本，请检查文件。"
    assert _rejected("名单.exe", xlsx).message == "只接受 .xlsx、.xls 或 .csv 文件。"
    assert _rejected("名单.csv", b"a,b\x00c").message == "文件内容不是 CSV 文本（含有二进制数据）。"
    assert _rejected("名单.csv", b"").message == "上传的文件是空的。"


def test_inp02_oversized_upload_is_413(settings):
    settings.XIAOWU_UPLOAD_MAX_BYTES = MB

    error = _rejected("big.csv", b"x" * (MB + 1))

    assert (error.status, error.message) == (413, "文件大小超过 1 MB 的上限，请拆分后分批导入。")


def test_inp02_csv_encodings(tmp_path):
    utf8 = write_csv(tmp_path / "u.csv", [["姓名"], ["张三"]]).read_bytes()
    gbk = write_csv(tmp_path / "g.csv", [["姓名"], ["张三"]], encoding="gb18030").read_bytes()

    assert inspect_upload("u.csv", utf8).encoding == "utf-8-sig"
    assert inspect_upload("g.csv", gbk).encoding == "gb18030"
    assert _rejected("x.csv", b"\xff\xfe\xfa\xfb").message == (
        "无法识别 CSV 文件的编码，请另存为 UTF-8 编码的 CSV。"
    )


@pytest.mark.parametrize(
    "prolog",
    [
        b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>',
    ],
    ids=["xxe", "billion-laughs"],
)
def test_inp04_xml_with_a_dtd_is_rejected(tmp_path, prolog):
    data = xlsx_from_parts(
        tmp_path / "dtd.xlsx", minimal_parts(sheet_xml(["姓名", "&xxe;&lol3;"], prolog=prolog))
    ).read_bytes()

    assert _rejected("dtd.xlsx", data).message == (
        "文件包含不允许的 XML 文档类型声明（DTD），已拒绝。"
    )


def test_inp04_xxe_is_harmless_even_to_the_parser_itself(tmp_path):
    """Behind the DTD check, calamine does not resolve external entities either."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    prolog = f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>'.encode()
    data = xlsx_from_parts(
        tmp_path / "xxe.xlsx", minimal_parts(sheet_xml(["姓名", "&xxe;"], prolog=prolog))
    ).read_bytes()

    try:
        table = read_table(data, "xlsx", columns=STUDENT_COLUMNS, key_columns=("name",))
    except UploadRejectedError:
        table = None

    cells = [] if table is None else [str(c) for _n, row in table.rows for c in row]
    assert "TOP-SECRET-MARKER" not in " ".join([*cells, *(table.headers.ignored if table else [])])


def test_inp03_row_cap(tmp_path, settings, world):
    settings.XIAOWU_IMPORT_MAX_ROWS = 5
    rows = [["姓名", "身份证件号", "班级"]] + [[f"学生{n}", "", "一年级(1)班"] for n in range(6)]
    data = write_csv(tmp_path / "rows.csv", rows).read_bytes()

    with pytest.raises(UploadRejectedError, match="数据超过 5 行的上限"):
        import_preview(
            actor=world.users["principal"],
            school=world.school,
            kind="students",
            name="rows.csv",
            data=data,
        )
    assert ImportBatch.objects.count() == 0


def test_inp04_system_check_requires_defusedxml(monkeypatch):
    assert checks.defusedxml_check() == []
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)

    errors = checks.defusedxml_check()

    assert [error.id for error in errors] == ["exchange.E001"]
