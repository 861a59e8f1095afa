"""Uploaded spreadsheets are hostile until proven otherwise (security.md INP-02, INP-03, INP-04).

``inspect_upload`` runs before any parser sees the bytes:

- size cap (``XIAOWU_UPLOAD_MAX_BYTES``, answered with HTTP 413);
- extension and magic bytes agree: .xlsx is a zip with ``[Content_Types].xml``, .xls an OLE2
  compound file, .csv decodable text (UTF-8 or GB 18030) without NUL bytes;
- macro-enabled files are refused: .xlsm and friends, ``vbaProject.bin`` in the zip, a VBA
  storage (``_VBA_PROJECT``) in an OLE file;
- zip-bomb guard from the central directory (members, total and per-member uncompressed size,
  compression ratio), then every member is inflated here with a hard output cap, so a member
  that lies about its size is caught before the real parser runs;
- XML members must not carry a DTD (``<!DOCTYPE``): no XXE and no billion laughs, whatever the
  parser would have done with them.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import PurePosixPath
from typing import BinaryIO

from django.conf import settings

from xiaowu.exchange.models import FileFormat

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A 50,000-row 学生基本信息表 is 50–120 MB of sheet XML (xlsxwriter's constant-memory mode
# writes inline strings), so the 50 MB of security.md INP-03 would refuse legitimate files of
# the size the import is built for. Bombs are still stopped by the ratio rule, the member
# count and this cap; ``XIAOWU_IMPORT_MAX_UNCOMPRESSED_BYTES`` overrides it.
MAX_UNCOMPRESSED_BYTES = 160 * 1024 * 1024
MAX_ZIP_MEMBERS = 1000
MAX_COMPRESSION_RATIO = 100
# Small members (styles, themes) compress far better than sheets; the ratio rule applies to
# members from this size on, while the total cap bounds everything.
RATIO_CHECK_FROM_BYTES = 1024 * 1024
MACRO_EXTENSIONS = frozenset({".xlsm", ".xltm", ".xlam", ".xlsb", ".xla", ".xlm", ".docm"})
EXTENSIONS = {".xlsx": FileFormat.XLSX, ".xls": FileFormat.XLS, ".csv": FileFormat.CSV}
FOREIGN_MAGIC = (ZIP_MAGIC, OLE_MAGIC, b"MZ", b"%PDF", b"\x7fELF", b"\x1f\x8b", b"Rar!")
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# "<!DOCTYPE" in UTF-16 (either byte order) does not match the byte pattern above.
_DTD_UTF16 = re.compile(rb"<\x00!\x00D\x00O\x00C\x00|\x00<\x00!\x00D\x00O\x00C", re.IGNORECASE)
_VBA_STORAGE = re.compile(
    b"".join(re.escape(bytes([ord(c)])) + b"\x00" for c in "_VBA_PROJECT"), re.IGNORECASE
)
_SCAN_CHUNK = 1024 * 1024


class UploadRejectedError(Exception):
    """The upload is refused before parsing; ``message`` is shown to the user."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Inspected:
    file_format: str
    encoding: str = ""  # CSV only


def _size_label(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def upload_limit() -> int:
    limit: int = settings.XIAOWU_UPLOAD_MAX_BYTES
    return limit


def uncompressed_limit() -> int:
    limit: int = getattr(settings, "XIAOWU_IMPORT_MAX_UNCOMPRESSED_BYTES", MAX_UNCOMPRESSED_BYTES)
    return limit


def check_size(size: int) -> None:
    """Refuse an empty upload or one over ``XIAOWU_UPLOAD_MAX_BYTES`` (HTTP 413)."""
    if size == 0:
        raise UploadRejectedError("上传的文件是空的。")
    limit = upload_limit()
    if size > limit:
        raise UploadRejectedError(
            f"文件大小超过 {_size_label(limit)} 的上限，请拆分后分批导入。", status=413
        )


def file_format_for(name: str) -> str:
    """Return the format its extension claims, refusing macro-enabled and other types."""
    suffix = PurePosixPath(name.replace("\\", "/").lower()).suffix
    if suffix in MACRO_EXTENSIONS:
        raise UploadRejectedError("不接受启用宏的文件（如 .xlsm）。请另存为 .xlsx 后再上传。")
    if suffix not in EXTENSIONS:
        raise UploadRejectedError("只接受 .xlsx、.xls 或 .csv 文件。")
    return EXTENSIONS[suffix]


def inspect_upload(name: str, data: bytes) -> Inspected:
    """Check an upload's size, type and structure; raise ``UploadRejectedError`` if hostile."""
    check_size(len(data))
    file_format = file_format_for(name)
    if file_format == FileFormat.XLSX:
        if not data.startswith(ZIP_MAGIC):
            if data.startswith(OLE_MAGIC):
                raise UploadRejectedError(
                    "文件不是有效的 .xlsx 工作簿（可能设置了打开密码，或实为 .xls 文件）。"
                )
            raise UploadRejectedError("文件内容不是 Excel 工作簿（.xlsx），请检查文件。")
        _inspect_zip(data)
        return Inspected(FileFormat.XLSX)
    if file_format == FileFormat.XLS:
        if not data.startswith(OLE_MAGIC):
            raise UploadRejectedError(
                "文件内容不是 Excel 97-2003 工作簿（.xls）；"
                "如果它是由其他系统导出的网页表格，请用 Excel 另存为 .xlsx 后再上传。"
            )
        if _VBA_STORAGE.search(data):
            raise UploadRejectedError(
                "不接受包含宏（VBA）的文件。请删除宏或另存为 .xlsx 后再上传。"
            )
        return Inspected(FileFormat.XLS)
    return Inspected(FileFormat.CSV, encoding=_csv_encoding(data))


def _csv_encoding(data: bytes) -> str:
    if data.startswith(FOREIGN_MAGIC):
        raise UploadRejectedError("文件内容不是 CSV 文本，请检查文件。")
    if b"\x00" in data:
        raise UploadRejectedError("文件内容不是 CSV 文本（含有二进制数据）。")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise UploadRejectedError("无法识别 CSV 文件的编码，请另存为 UTF-8 编码的 CSV。")


def _inspect_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, struct.error) as exc:
        raise UploadRejectedError("文件已损坏，无法作为 .xlsx 工作簿打开。") from exc
    if len(members) > MAX_ZIP_MEMBERS:
        raise UploadRejectedError("文件结构异常（压缩包内文件过多），已拒绝。")
    total = sum(member.file_size for member in members)
    compressed = sum(member.compress_size for member in members)
    if total > uncompressed_limit():
        raise UploadRejectedError(
            f"文件解压后超过 {_size_label(uncompressed_limit())}，已拒绝（疑似压缩炸弹）。"
        )
    if compressed and total > RATIO_CHECK_FROM_BYTES and total / compressed > MAX_COMPRESSION_RATIO:
        raise UploadRejectedError("文件压缩比异常，已拒绝（疑似压缩炸弹）。")
    names = {member.filename.lower() for member in members}
    if "[content_types].xml" not in names:
        raise UploadRejectedError("文件内容不是 Excel 工作簿（缺少 [Content_Types].xml）。")
    if any(PurePosixPath(name).name.startswith("vbaproject") for name in names):
        raise UploadRejectedError("不接受包含宏（VBA）的文件。请另存为 .xlsx 后再上传。")
    stream = BytesIO(data)
    for member in members:
        if member.flag_bits & 0x1:
            raise UploadRejectedError("文件已加密，请取消密码后再上传。")
        if (
            member.file_size > RATIO_CHECK_FROM_BYTES
            and member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1)
        ):
            raise UploadRejectedError("文件压缩比异常，已拒绝（疑似压缩炸弹）。")
        content_types = member.filename.lower() == "[content_types].xml"
        scan = content_types or member.filename.lower().endswith((".xml", ".rels", ".vml"))
        head = _inflate_checked(stream, member, scan=scan)
        if content_types and b"macroenabled" in head.lower():
            raise UploadRejectedError("不接受启用宏的文件。请另存为 .xlsx 后再上传。")


def _inflate_checked(stream: BinaryIO, member: zipfile.ZipInfo, *, scan: bool) -> bytes:
    """Inflate one member with its declared size as a hard cap; check its CRC and, for XML,
    that it has no DTD. Return the first 64 KB (for the content-types check)."""
    stream.seek(member.header_offset)
    header = stream.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != ZIP_MAGIC:
        raise UploadRejectedError("文件已损坏，无法作为 .xlsx 工作簿打开。")
    fields = _LOCAL_HEADER.unpack(header)
    stream.seek(member.header_offset + _LOCAL_HEADER.size + fields[10] + fields[11])
    remaining = member.compress_size
    if member.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    elif member.compress_type == zipfile.ZIP_STORED:
        inflater = None
    else:
        raise UploadRejectedError("文件使用了不支持的压缩方式，请用 Excel 另存为 .xlsx。")
    produced = 0
    crc = 0
    head = b""
    tail = b""
    while remaining > 0 or (inflater is not None and inflater.unconsumed_tail):
        if inflater is not None and inflater.unconsumed_tail:
            chunk = inflater.unconsumed_tail
        else:
            chunk = stream.read(min(_SCAN_CHUNK, remaining))
            if not chunk:
                raise UploadRejectedError("文件已损坏（数据不完整）。")
            remaining -= len(chunk)
        # Never produce more than one byte beyond the declared size.
        budget = member.file_size - produced + 1
        out = inflater.decompress(chunk, budget) if inflater is not None else chunk[:budget]
        produced += len(out)
        if produced > member.file_size:
            raise UploadRejectedError(
                "文件结构异常（解压后大小与声明不符），已拒绝（疑似压缩炸弹）。"
            )
        crc = zlib.crc32(out, crc)
        if len(head) < 65536:
            head += out[: 65536 - len(head)]
        if scan:
            window = tail + out
            if _DTD.search(window) or _DTD_UTF16.search(window):
                raise UploadRejectedError("文件包含不允许的 XML 文档类型声明（DTD），已拒绝。")
            tail = window[-32:]
    if produced != member.file_size or crc != member.CRC:
        raise UploadRejectedError("文件已损坏（校验失败），无法作为 .xlsx 工作簿打开。")
    return head
