"""成绩导入 — a score sheet (.xlsx/.xls/.csv) read into an exam, all or nothing.

Two layouts:

- ``scores`` (wide): one row per student, one column per exam subject (语文, 数学 … ; also
  "语文成绩", "语文(120)"). A cell holds a score or a status word (缺考/缺/q, 作弊/z, 免考/m,
  借读不计/j); a blank cell leaves the stored score as it is.
- ``items`` (小题): one subject's item scores, one column per item (1, 2, 3(1), 第4题 …). Items
  not yet defined are created from the headers; their 满分 come from a row right under the
  header whose name cell reads 满分. Optionally the sum of a row's items becomes the subject
  score.

A row is matched to a candidate by 考号, else 学籍号 (全国学籍号), else 姓名 + 班级 (+ 学校 when
several schools sit the exam). Every problem is reported with its spreadsheet row, header and
a Chinese reason, and nothing is written while any remains (``ScorePlan.errors``).

``score_import_plan`` reads a file into a plan against dict lookups built with a handful of
queries; ``score_import_apply`` writes a plan with batched INSERT/UPDATE statements. Both take a
``progress(done, total)`` callback so that a large file can run as a background job. Permission,
the transaction, the revision bump and the audit row belong to ``score_import_run`` /
``score_import_commit``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, models, transaction
from django.urls import reverse
from django.utils import timezone

from xiaowu.audit.models import AuditAction
from xiaowu.audit.services import audit_record
from xiaowu.core.tabular import CellError, Column, compact_text, text_value
from xiaowu.exams.models import (
    Exam,
    ExamCandidate,
    ExamItem,
    ExamStatus,
    ExamSubject,
    ItemKind,
    ItemScore,
    Score,
    ScoreStatus,
)
from xiaowu.exams.naming import class_name_as_of, school_years_since
from xiaowu.exams.services import (
    LOCKED_MESSAGE,
    STATUS_WORDS,
    ExamLockedError,
    exam_import_schools,
    score_cell_parse,
    score_display,
)
from xiaowu.exchange.reader import RowError, Table, read_table
from xiaowu.exchange.safety import UploadRejectedError, inspect_upload
from xiaowu.jobs.runner import JobError, JobOutcome, job_actor
from xiaowu.jobs.runner import Progress as JobProgress
from xiaowu.org.models import OrgUnit
from xiaowu.students.io import class_key, class_number

if TYPE_CHECKING:
    from xiaowu.accounts.models import User

Progress = Callable[[int, int], None]

MODE_SCORES, MODE_ITEMS = "scores", "items"
MODES = {MODE_SCORES: "各科成绩（每科一列）", MODE_ITEMS: "小题得分（某一科目）"}
PREVIEW_ROWS = 20
ERRORS_SHOWN = 500
WRITE_BATCH = 2000
PROGRESS_EVERY = 5000
TOKEN_SALT = "xiaowu.exams.score_import"  # noqa: S105 — a signing namespace, not a secret
TOKEN_MAX_AGE = 24 * 3600
FULL_MARK_WORDS = frozenset({"满分", "分值", "题分"})
# Headers that are neither identifiers nor items in an item sheet.
NOT_ITEMS = frozenset(
    {"序号", "性别", "总分", "合计", "得分", "总成绩", "客观题", "主观题", "备注", "座号", "名次"}
)
_ITEM_LABEL = re.compile(r"^(?:第)?(\d{1,3})(?:题)?((?:\(\d{1,2}\)|[-.]\d{1,2}){0,2})$")

_ID = "id"


def _text(value: object) -> str:
    return compact_text(value)


ID_COLUMNS: tuple[Column, ...] = (
    Column(
        "exam_number",
        "考号",
        _text,
        aliases=("准考证号", "考试号", "考生号", "准考号"),
        text=True,
    ),
    Column(
        "national_student_number",
        "学籍号",
        _text,
        aliases=("全国学籍号", "学生学籍号", "学籍编号", "学籍辅号"),
        text=True,
    ),
    Column("name", "姓名", _text, aliases=("学生姓名", "考生姓名")),
    Column("school_class", "班级", _text, aliases=("班别", "班级名称", "所在班级", "班")),
    Column("school", "学校", _text, aliases=("学校名称", "考点", "所在学校")),
)
ID_KEYS = tuple(column.key for column in ID_COLUMNS)


# --------------------------------------------------------------------------- the plan
@dataclass
class CandidateRef:
    pk: int
    name: str
    exam_number: str
    class_name: str
    school_id: int
    school_name: str


@dataclass
class PreviewRow:
    row: int
    candidate: str
    exam_number: str
    class_name: str
    cells: list[tuple[str, str, bool]]  # (column, new display, changed)


@dataclass
class ScorePlan:
    """What a file would change; ``errors`` non-empty means nothing may be written."""

    mode: str
    row_count: int = 0
    matched: int = 0
    subjects: list[str] = field(default_factory=list)  # subject (or item) columns found
    ignored: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # (candidate, exam subject, value, status)
    creates: list[tuple[int, int, Decimal | None, str]] = field(default_factory=list)
    # (score id, value, status)
    updates: list[tuple[int, Decimal | None, str]] = field(default_factory=list)
    unchanged: int = 0
    # 小题: items to create (label, full mark, order), item scores to write, unchanged ones
    new_items: list[tuple[str, Decimal, int]] = field(default_factory=list)
    # (candidate, label, value, already stored)
    item_writes: list[tuple[int, str, Decimal, bool]] = field(default_factory=list)
    item_unchanged: int = 0
    item_subject_id: int | None = None
    preview: list[PreviewRow] = field(default_factory=list)

    @property
    def cell_changes(self) -> int:
        return len(self.creates) + len(self.updates)

    def error(self, row: int, column: str, message: str) -> None:
        self.errors.append(RowError(row, column, message))


_Parsed = tuple[Decimal | None, str, int | None]  # value, status, value in tenths


def _no_progress(done: int, total: int) -> None:
    return None


def _read(data: bytes, file_format: str, encoding: str, columns: Sequence[Column]) -> Table | None:
    """The first sheet with a header row naming 姓名, else 考号, else 学籍号."""
    for key in ("name", "exam_number", "national_student_number"):
        table = read_table(
            data, file_format, columns=columns, key_columns=(key,), encoding=encoding
        )
        if table is not None:
            return table
    return None


def _subject_columns(subjects: Sequence[ExamSubject]) -> list[Column]:
    columns = []
    for subject in subjects:
        name = subject.subject
        full = f"{subject.full_mark.normalize():f}"
        columns.append(
            Column(
                f"s{subject.pk}",
                name,
                _identity,
                aliases=(
                    f"{name}成绩",
                    f"{name}分数",
                    f"{name}得分",
                    f"{name}({full})",
                    f"{name}({full}分)",
                    f"{name}(满分{full})",
                ),
            )
        )
    return columns


def _identity(value: object) -> object:
    return value


class _Candidates:
    """Lookup dicts over the exam's candidates (one query)."""

    def __init__(self, exam: Exam) -> None:
        self.refs: dict[int, CandidateRef] = {}
        self.by_number: dict[str, int] = {}
        self.by_student_number: dict[str, int] = {}
        self.by_name: dict[tuple[int, int, str], list[int]] = defaultdict(list)  # school, cls
        self.school_ids_by_name: dict[str, int] = {}
        rows = ExamCandidate.objects.filter(exam=exam).values_list(
            "pk",
            "exam_number",
            "student__national_student_number",
            "student__name",
            "school_class__class_number",
            "school_class__name",
            "school_class__grade",
            "school_id",
            "school__name",
            "school__code",
        )
        schools: dict[int, tuple[str, str]] = {}
        years = school_years_since(exam)
        for row in rows:
            pk, number, nsn, name, class_no, class_name, grade, school_id, school_name, code = row
            shown = class_name_as_of(exam.grade, class_name, grade, class_no, years_since=years)
            self.refs[pk] = CandidateRef(pk, name, number, shown, school_id, school_name)
            if number:
                self.by_number[number.upper()] = pk
            if nsn:
                self.by_student_number[nsn.upper()] = pk
            self.by_name[(school_id, class_no or 0, _cell_text(name))].append(pk)
            schools[school_id] = (school_name, code)
        for school_id, (school_name, code) in schools.items():
            self.school_ids_by_name[compact_text(school_name).upper()] = school_id
            self.school_ids_by_name[code.upper()] = school_id
        self.school_ids = set(self.school_ids_by_name.values())


def _class_no(text: str, grade: int) -> int | None:
    key = class_key(text)
    if key is not None:
        return key[1] if key[0] == grade else None
    number = class_number(text)
    if number is not None:
        return number
    digits = re.fullmatch(r"(\d{1,2})(\d{2})", compact_text(text))
    if digits and int(digits.group(1)) == grade:  # "701" = 七年级1班
        return int(digits.group(2))
    return None


def _resolve(
    plan: ScorePlan,
    row: int,
    values: dict[str, Any],
    headers: dict[str, str],
    lookup: _Candidates,
    exam: Exam,
) -> int | None:
    """Return the candidate a row names, or record why not."""
    number = values.get("exam_number", "")
    nsn = values.get("national_student_number", "")
    name = values.get("name", "")
    if number:
        pk = lookup.by_number.get(number.upper())
        if pk is None:
            plan.error(row, headers["exam_number"], f"考号“{number}”不是本次考试的考生。")
            return None
    elif nsn:
        pk = lookup.by_student_number.get(nsn.upper())
        if pk is None:
            plan.error(
                row, headers["national_student_number"], f"学籍号“{nsn}”不是本次考试的考生。"
            )
            return None
    else:
        if not name:
            plan.error(row, "", "缺少考号、学籍号和姓名，无法确定是哪位考生。")
            return None
        class_text = values.get("school_class", "")
        if not class_text:
            plan.error(
                row, headers.get("name", "姓名"), "按姓名匹配考生时需要填写班级（或改用考号）。"
            )
            return None
        class_no = _class_no(class_text, exam.grade)
        if class_no is None:
            plan.error(row, headers["school_class"], f"无法识别的班级“{class_text}”。")
            return None
        school_text = values.get("school", "")
        if school_text:
            school_id = lookup.school_ids_by_name.get(compact_text(school_text).upper())
            if school_id is None:
                plan.error(row, headers["school"], f"“{school_text}”不是本次考试的参考学校。")
                return None
            schools = [school_id]
        else:
            schools = sorted(lookup.school_ids)
        found = [
            pk
            for school_id in schools
            for pk in lookup.by_name.get((school_id, class_no, name), [])
        ]
        if not found:
            plan.error(row, headers["name"], f"{class_text}没有名为“{name}”的考生。")
            return None
        if len(found) > 1:
            where = "、".join(sorted({lookup.refs[pk].school_name for pk in found}))
            hint = "请改用考号或学籍号" if school_text else "请增加“学校”列，或改用考号、学籍号"
            plan.error(
                row,
                headers["name"],
                f"{class_text}有 {len(found)} 名考生都叫“{name}”（{where}），无法区分；{hint}。",
            )
            return None
        return found[0]
    if name and compact_text(lookup.refs[pk].name) != name:
        key = "exam_number" if number else "national_student_number"
        plan.error(
            row,
            headers["name"],
            f"{headers[key]}“{number or nsn}”对应的考生是{lookup.refs[pk].name}，"
            f"与姓名“{name}”不符。",
        )
        return None
    return pk


def _cell_text(value: object) -> str:
    """An identifier or name cell as compact text; plain ASCII text skips the Unicode work."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isascii() and stripped.isprintable() and " " not in stripped:
            return stripped
        return compact_text(stripped)
    return compact_text(text_value(value))


def _id_values(cells: Sequence[Any], id_index: dict[str, int]) -> dict[str, str]:
    values: dict[str, str] = {}
    width = len(cells)
    for key, index in id_index.items():
        if index < width:
            cell = cells[index]
            if cell is None or cell == "":
                continue
            text = _cell_text(cell)
            if text:
                values[key] = text
    return values


def score_import_plan(
    *,
    exam: Exam,
    data: bytes,
    file_format: str,
    encoding: str = "",
    mode: str = MODE_SCORES,
    subject: ExamSubject | None = None,
    update_totals: bool = True,
    allowed_schools: set[int] | None = None,
    progress: Progress | None = None,
) -> ScorePlan:
    """Read a file against the exam and work out every cell it would change (no writes)."""
    progress = progress or _no_progress
    plan = ScorePlan(mode=mode)
    subjects = list(ExamSubject.objects.filter(exam=exam).order_by("sort_order", "pk"))
    if mode == MODE_ITEMS:
        if subject is None or subject.exam_id != exam.pk:
            plan.error(1, "", "请选择要导入小题得分的科目。")
            return plan
        # Item columns are named by the file: find them among the headers no identifier
        # column claims, then read again with a column per item.
        first = _read(data, file_format, encoding, ID_COLUMNS)
        if first is None:
            plan.error(1, "", "未找到表头：第一行应写列名，至少包含“考号”“学籍号”或“姓名”之一。")
            return plan
        columns = [*ID_COLUMNS, *_item_columns(plan, first)]
        if plan.errors:
            return plan
    else:
        columns = [*ID_COLUMNS, *_subject_columns(subjects)]
    table = _read(data, file_format, encoding, columns)
    if table is None:
        plan.error(1, "", "未找到表头：第一行应写列名，至少包含“考号”“学籍号”或“姓名”之一。")
        return plan
    headers = table.headers.headers
    id_index = {key: table.headers.columns[key] for key in ID_KEYS if key in table.headers.columns}
    if mode == MODE_ITEMS:
        assert subject is not None  # noqa: S101 — checked above
        return _plan_items(
            plan, exam, subject, table, id_index, update_totals, allowed_schools, progress
        )
    by_key = {f"s{s.pk}": s for s in subjects}
    score_columns = [
        (by_key[key], by_key[key].pk, index, headers[key])
        for key, index in sorted(table.headers.columns.items(), key=lambda item: item[1])
        if key in by_key
    ]
    plan.ignored = list(table.headers.ignored)
    plan.subjects = [subject.subject for subject, _pk, _index, _header in score_columns]
    if not score_columns:
        names = "、".join(s.subject for s in subjects) or "（本次考试尚未设置科目）"
        plan.error(table.header_row, "", f"表头中没有本次考试的科目列；本次考试的科目为：{names}。")
        return plan
    lookup = _Candidates(exam)
    existing = _existing_scores(exam)
    plan.row_count = len(table.rows)
    total = plan.row_count * 2 or 1
    memo: dict[int, dict[tuple[type, object], _Parsed | str]] = {
        pk: {} for _s, pk, _i, _h in score_columns
    }
    seen: dict[int, int] = {}
    for position, (row_number, cells) in enumerate(table.rows, start=1):
        if position % PROGRESS_EVERY == 0:
            progress(position, total)
        values = _id_values(cells, id_index)
        candidate = _resolve(plan, row_number, values, headers, lookup, exam)
        if candidate is None:
            continue
        if candidate in seen:
            plan.error(
                row_number,
                headers.get("name") or "",
                f"与第 {seen[candidate]} 行是同一名考生（{lookup.refs[candidate].name}）。",
            )
            continue
        seen[candidate] = row_number
        ref = lookup.refs[candidate]
        if allowed_schools is not None and ref.school_id not in allowed_schools:
            plan.error(row_number, "", f"您无权导入{ref.school_name}考生的成绩。")
            continue
        plan.matched += 1
        shown: list[tuple[str, str, bool]] = []
        previewing = len(plan.preview) < PREVIEW_ROWS
        width = len(cells)
        for exam_subject, subject_id, index, header in score_columns:
            raw = cells[index] if index < width else None
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if previewing:
                    shown.append((header, "", False))
                continue
            cache = memo[subject_id]
            memo_key = (type(raw), raw)
            parsed = cache.get(memo_key)
            if parsed is None:
                try:
                    value, status = score_cell_parse(
                        raw, full_mark=exam_subject.full_mark, step=exam_subject.step
                    )
                    parsed = (value, status, _tenths(value))
                except CellError as exc:
                    parsed = exc.message
                if len(cache) < 4096:
                    cache[memo_key] = parsed
            if isinstance(parsed, str):
                plan.error(row_number, header, parsed)
                continue
            value, status, tenths = parsed
            if value is None and not status:
                if previewing:
                    shown.append((header, "", False))
                continue
            stored = existing.get((candidate, subject_id))
            if stored is None:
                plan.creates.append((candidate, subject_id, value, status))
                changed = True
            elif stored[1] == tenths and stored[2] == status:
                plan.unchanged += 1
                changed = False
            else:
                plan.updates.append((stored[0], value, status))
                changed = True
            if previewing:
                shown.append((header, score_display(value, status), changed))
        if previewing:
            plan.preview.append(
                PreviewRow(row_number, ref.name, ref.exam_number, ref.class_name, shown)
            )
    progress(plan.row_count, total)
    return plan


def _tenths(value: Decimal | float | str | None) -> int | None:
    """A score as a whole number of tenths (exact for the one decimal place scores keep)."""
    if value is None:
        return None
    return round(Decimal(str(value)) * 10)


def _existing_scores(
    exam: Exam, subject_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], tuple[int, int | None, str]]:
    """{(candidate, subject): (score id, value in tenths, status)}, read with one plain query
    (no per-row field converters: a large exam has hundreds of thousands of scores)."""
    scores = Score.objects.filter(exam_subject__exam=exam)
    if subject_ids is not None:
        scores = scores.filter(exam_subject_id__in=list(subject_ids))
    sql, params = scores.values_list(
        "pk", "candidate_id", "exam_subject_id", "value", "status"
    ).query.sql_with_params()
    result: dict[tuple[int, int], tuple[int, int | None, str]] = {}
    memo: dict[object, int | None] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(20000):
            for pk, candidate, subject, value, status in rows:
                tenths = memo.get(value)
                if tenths is None and value is not None:
                    tenths = memo[value] = _tenths(value)
                result[(candidate, subject)] = (pk, tenths, status)
    return result


# --------------------------------------------------------------------------- 小题
def item_label(header: str) -> str | None:
    """Return the canonical 小题 label of a header (``3(1)`` for 第3题(1)), or None."""
    text = compact_text(header)
    match = _ITEM_LABEL.match(text)
    if not match:
        return None
    return match.group(1) + match.group(2)


def _item_value(raw: object, full_mark: Decimal) -> Decimal:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        text = repr(round(float(raw), 6)) if isinstance(raw, float) else str(raw)
    else:
        text = compact_text(raw)
    if text.endswith(".0"):
        text = text[:-2]
    if not re.fullmatch(r"\d+(\.\d+)?", text):
        raise CellError(f"无法识别的小题得分“{text}”：请填写 0–{full_mark.normalize():f} 的分数。")
    value = Decimal(text)
    if value > full_mark:
        raise CellError(f"得分 {text} 超过该小题满分 {full_mark.normalize():f}。")
    if value % Decimal("0.5"):
        raise CellError(f"得分 {text} 只能是整数或 .5 分。")
    return value.quantize(Decimal("0.1"))


def _plan_items(
    plan: ScorePlan,
    exam: Exam,
    subject: ExamSubject,
    table: Table,
    id_index: dict[str, int],
    update_totals: bool,
    allowed_schools: set[int] | None,
    progress: Progress,
) -> ScorePlan:
    plan.item_subject_id = subject.pk
    headers = table.headers.headers
    defined = {item.label: item for item in ExamItem.objects.filter(exam_subject=subject)}
    item_columns: list[tuple[str, int, str]] = []  # label, index, header text
    for key, index in sorted(table.headers.columns.items(), key=lambda item: item[1]):
        if not key.startswith("i:"):
            continue
        text = headers[key]
        label = key[2:]
        if defined and label not in defined:
            plan.error(table.header_row, text, f"“{subject.subject}”没有小题“{label}”。")
            continue
        item_columns.append((label, index, text))
    labels = [label for label, _i, _t in item_columns]
    plan.subjects = labels
    if not item_columns:
        plan.error(table.header_row, "", "表头中没有小题列（如 1、2、3(1)、第4题）。")
        return plan
    rows = list(table.rows)
    full_marks: dict[str, Decimal] = {label: item.full_mark for label, item in defined.items()}
    if rows and _is_full_mark_row(rows[0][1], id_index):
        row_number, cells = rows.pop(0)
        for label, index, text in item_columns:
            raw = cells[index] if index < len(cells) else None
            try:
                mark = _item_value(raw, Decimal("999"))
            except CellError:
                plan.error(row_number, text, "满分行中该小题的满分无法识别。")
                continue
            if mark <= 0:
                plan.error(row_number, text, "小题满分应大于 0。")
            elif label in defined and defined[label].full_mark != mark:
                plan.error(
                    row_number,
                    text,
                    f"小题满分 {mark.normalize():f} 与已设置的 "
                    f"{defined[label].full_mark.normalize():f} 不一致。",
                )
            else:
                full_marks[label] = mark
    missing = [label for label in labels if label not in full_marks]
    if missing:
        plan.error(
            table.header_row + 1,
            "",
            f"小题 {'、'.join(missing)} 的满分未知：请在表头下一行写一行“满分”（姓名列填“满分”）。",
        )
    if plan.errors:
        return plan
    total_full = sum((full_marks[label] for label in labels), Decimal(0))
    if not defined and total_full > subject.full_mark:
        plan.error(
            table.header_row + 1,
            "",
            f"各小题满分之和 {total_full.normalize():f} 超过“{subject.subject}”的满分 "
            f"{subject.full_mark.normalize():f}。",
        )
        return plan
    plan.new_items = [
        (label, full_marks[label], order)
        for order, label in enumerate(labels, start=1)
        if label not in defined
    ]
    lookup = _Candidates(exam)
    stored_items = {
        (candidate, label): value
        for candidate, label, value in ItemScore.objects.filter(
            item__exam_subject=subject
        ).values_list("candidate_id", "item__label", "value")
    }
    existing = _existing_scores(exam, [subject.pk]) if update_totals else {}
    plan.row_count = len(rows)
    total = plan.row_count * 2 or 1
    seen: dict[int, int] = {}
    for position, (row_number, cells) in enumerate(rows, start=1):
        if position % PROGRESS_EVERY == 0:
            progress(position, total)
        values = _id_values(cells, id_index)
        candidate = _resolve(plan, row_number, values, headers, lookup, exam)
        if candidate is None:
            continue
        if candidate in seen:
            plan.error(row_number, "", f"与第 {seen[candidate]} 行是同一名考生。")
            continue
        seen[candidate] = row_number
        ref = lookup.refs[candidate]
        if allowed_schools is not None and ref.school_id not in allowed_schools:
            plan.error(row_number, "", f"您无权导入{ref.school_name}考生的成绩。")
            continue
        plan.matched += 1
        row_sum = Decimal(0)
        row_status = ""
        filled = 0
        shown: list[tuple[str, str, bool]] = []
        bad = False
        for label, index, text in item_columns:
            raw = cells[index] if index < len(cells) else None
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                shown.append((text, "", False))
                continue
            word = STATUS_WORDS.get(compact_text(raw).lower())
            if word is not None:
                row_status = row_status or word
                shown.append((text, str(ScoreStatus(word).label), False))
                continue
            try:
                value = _item_value(raw, full_marks[label])
            except CellError as exc:
                plan.error(row_number, text, exc.message)
                bad = True
                continue
            filled += 1
            row_sum += value
            stored_value = stored_items.get((candidate, label))
            if stored_value == value:
                plan.item_unchanged += 1
                shown.append((text, f"{value.normalize():f}", False))
            else:
                plan.item_writes.append((candidate, label, value, stored_value is not None))
                shown.append((text, f"{value.normalize():f}", True))
        if update_totals and not bad and (filled or row_status):
            new_value = None if row_status and not filled else row_sum
            new_status = row_status if not filled else ""
            if row_status and filled:
                plan.error(row_number, "", "同一行既有小题得分又有缺考等状态，请核对。")
            else:
                stored = existing.get((candidate, subject.pk))
                if stored is None:
                    plan.creates.append((candidate, subject.pk, new_value, new_status))
                elif stored[1] == _tenths(new_value) and stored[2] == new_status:
                    plan.unchanged += 1
                else:
                    plan.updates.append((stored[0], new_value, new_status))
                shown.append(
                    (f"{subject.subject}（小题合计）", score_display(new_value, new_status), True)
                )
        if len(plan.preview) < PREVIEW_ROWS:
            plan.preview.append(
                PreviewRow(row_number, ref.name, ref.exam_number, ref.class_name, shown)
            )
    progress(plan.row_count, total)
    return plan


def _item_columns(plan: ScorePlan, table: Table) -> list[Column]:
    """A column per header that reads as a 小题 label; other unknown headers are ignored."""
    texts = list(table.headers.ignored)
    counts = Counter(item_label(text) for text in texts)
    columns: list[Column] = []
    seen: set[str] = set()
    for text in texts:
        label = item_label(text)
        if label is None:
            if compact_text(text) not in NOT_ITEMS:
                plan.ignored.append(text)
            continue
        if counts[label] > 1:
            if label not in seen:
                plan.error(table.header_row, text, f"小题“{label}”出现了不止一列。")
            seen.add(label)
            continue
        columns.append(Column(f"i:{label}", text, _identity))
    return columns


def _is_full_mark_row(cells: Sequence[Any], id_index: dict[str, int]) -> bool:
    for key in ("name", "exam_number", "national_student_number"):
        index = id_index.get(key)
        if (
            index is not None
            and index < len(cells)
            and compact_text(cells[index]) in FULL_MARK_WORDS
        ):
            return True
    return False


# --------------------------------------------------------------------------- writing
def _execute_many(sql: str, rows: Sequence[Sequence[Any]], progress: Callable[[int], None]) -> None:
    with connection.cursor() as cursor:
        for start in range(0, len(rows), WRITE_BATCH):
            batch = rows[start : start + WRITE_BATCH]
            cursor.executemany(sql, batch)
            progress(len(batch))


def _columns(model: type[models.Model], *names: str) -> list[str]:
    quoted = []
    for name in names:
        field = model._meta.get_field(name)
        if not isinstance(field, models.Field):  # pragma: no cover - a programming error
            raise TypeError(f"{model.__name__}.{name} is no column")
        quoted.append(connection.ops.quote_name(str(field.column)))
    return quoted


@dataclass(frozen=True)
class AppliedCounts:
    created: int
    updated: int
    unchanged: int
    items_created: int = 0
    item_scores: int = 0


def score_import_apply(
    *, plan: ScorePlan, actor: User | None, progress: Progress | None = None
) -> AppliedCounts:
    """Write a plan without errors: new scores inserted with version 1, changed ones updated
    with ``version + 1`` (each a batched statement, not a model instance per cell)."""
    if plan.errors:
        raise ValidationError("导入文件有错误，未写入任何数据。")
    progress = progress or _no_progress
    total = plan.row_count * 2 or 1
    writes = plan.cell_changes + len(plan.item_writes) or 1
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        progress(plan.row_count + min(plan.row_count, plan.row_count * done // writes), total)

    now = timezone.now()
    ops = connection.ops
    user_id = actor.pk if actor is not None and actor.pk else None
    table = ops.quote_name(Score._meta.db_table)
    adapt_now = ops.adapt_datetimefield_value(now)
    if plan.creates:
        names = _columns(
            Score,
            "exam_subject",
            "candidate",
            "value",
            "status",
            "version",
            "updated_at",
            "updated_by",
        )
        sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 — names from the model
            table, ", ".join(names), ", ".join(["%s"] * len(names))
        )
        rows = [
            (subject, candidate, value, status, 1, adapt_now, user_id)
            for candidate, subject, value, status in plan.creates
        ]
        _execute_many(sql, rows, advance)
    if plan.updates:
        value_col, status_col, version_col, at_col, by_col, pk_col = _columns(
            Score, "value", "status", "version", "updated_at", "updated_by", "id"
        )
        sql = (
            f"UPDATE {table} SET {value_col} = %s, {status_col} = %s, "  # noqa: S608
            f"{version_col} = {version_col} + 1, {at_col} = %s, {by_col} = %s "
            f"WHERE {pk_col} = %s"
        )
        changed = [(value, status, adapt_now, user_id, pk) for pk, value, status in plan.updates]
        _execute_many(sql, changed, advance)
    items_created = 0
    if plan.item_subject_id is not None and (plan.new_items or plan.item_writes):
        ExamItem.objects.bulk_create(
            ExamItem(
                exam_subject_id=plan.item_subject_id,
                label=label,
                kind=ItemKind.SUBJECTIVE,
                full_mark=mark,
                sort_order=order,
            )
            for label, mark, order in plan.new_items
        )
        items_created = len(plan.new_items)
        item_ids = dict(
            ExamItem.objects.filter(exam_subject_id=plan.item_subject_id).values_list("label", "pk")
        )
        item_table = ops.quote_name(ItemScore._meta.db_table)
        value_col, item_col, candidate_col = _columns(ItemScore, "value", "item", "candidate")
        inserts = [
            (item_ids[label], candidate, value, "")
            for candidate, label, value, stored in plan.item_writes
            if not stored
        ]
        if inserts:
            names = _columns(ItemScore, "item", "candidate", "value", "answer")
            _execute_many(
                "INSERT INTO {} ({}) VALUES (%s, %s, %s, %s)".format(  # noqa: S608
                    item_table, ", ".join(names)
                ),
                inserts,
                lambda count: None,
            )
        changes = [
            (value, item_ids[label], candidate)
            for candidate, label, value, stored in plan.item_writes
            if stored
        ]
        if changes:
            _execute_many(
                f"UPDATE {item_table} SET {value_col} = %s "  # noqa: S608
                f"WHERE {item_col} = %s AND {candidate_col} = %s",
                changes,
                lambda count: None,
            )
        advance(len(plan.item_writes))
    progress(total, total)
    return AppliedCounts(
        created=len(plan.creates),
        updated=len(plan.updates),
        unchanged=plan.unchanged,
        items_created=items_created,
        item_scores=len(plan.item_writes),
    )


# --------------------------------------------------------------------------- services
@dataclass
class ScoreImportOutcome:
    """What an import found and (unless dry-run or with errors) did."""

    plan: ScorePlan
    committed: bool = False
    counts: AppliedCounts | None = None

    def as_json(self) -> dict[str, Any]:
        counts = self.counts
        return {
            "committed": self.committed,
            "rows": self.plan.row_count,
            "matched": self.plan.matched,
            "created": counts.created if counts else len(self.plan.creates),
            "updated": counts.updated if counts else len(self.plan.updates),
            "unchanged": self.plan.unchanged,
            "item_scores": counts.item_scores if counts else len(self.plan.item_writes),
            "errors": [error.as_dict() for error in self.plan.errors],
        }


def _require_import(actor: User | None, exam: Exam) -> set[int] | None:
    allowed = exam_import_schools(actor=actor, exam=exam)
    if allowed is not None and not allowed:
        raise PermissionDenied("您无权导入该考试的成绩。")
    return allowed


def _display_name(name: str) -> str:
    base = PurePosixPath((name or "").replace("\\", "/")).name
    cleaned = "".join(char for char in base if char.isprintable()).strip()
    return cleaned[-200:] or "成绩文件"


def _subject_of(exam: Exam, mode: str, subject_id: int | None) -> ExamSubject | None:
    if mode not in MODES:
        raise ValidationError({"mode": "未知的导入内容。"})
    if mode != MODE_ITEMS:
        return None
    subject = ExamSubject.objects.filter(exam=exam, pk=subject_id).first() if subject_id else None
    if subject is None:
        raise ValidationError({"subject": "请选择本次考试的一个科目。"})
    return subject


def _audit_import(
    *,
    actor: User | None,
    exam: Exam,
    name: str,
    sha256: str,
    plan: ScorePlan,
    counts: AppliedCounts,
) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.IMPORT,
        event="exams.score_import",
        target=exam,
        org_unit_id=exam.owner_id,
        actor_label="" if actor is not None and actor.pk else "命令行",
        changes={
            "mode": plan.mode,
            "original_name": name,
            "file_sha256": sha256,
            "rows": plan.row_count,
            "matched": plan.matched,
            "created": counts.created,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "items_created": counts.items_created,
            "item_scores": counts.item_scores,
        },
    )


class _FailedError(Exception):
    def __init__(self, plan: ScorePlan) -> None:
        super().__init__("import failed")
        self.plan = plan


def _lock_for_scores(exam: Exam) -> None:
    """Bump the revision first: the exam row lock orders imports with grid writes and locks."""
    updated = (
        Exam.objects.filter(pk=exam.pk)
        .exclude(status=ExamStatus.LOCKED)
        .update(
            scores_revision=models.F("scores_revision") + 1,
            status=models.Case(
                models.When(status=ExamStatus.DRAFT, then=models.Value(ExamStatus.ENTRY)),
                default=models.F("status"),
            ),
            updated_at=timezone.now(),
        )
    )
    if not updated:
        raise ExamLockedError(LOCKED_MESSAGE)


def score_import_run(
    *,
    actor: User | None,
    exam: Exam,
    name: str,
    data: bytes,
    mode: str = MODE_SCORES,
    subject_id: int | None = None,
    update_totals: bool = True,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ScoreImportOutcome:
    """Check, read and (unless ``dry_run`` or with errors) apply a score file in one
    transaction. ``actor=None`` is an operator at the command line. Raises
    ``UploadRejectedError`` for a hostile or unreadable file, ``ValidationError`` for a locked
    exam, ``PermissionDenied`` when the actor may import none of its schools."""
    allowed = _require_import(actor, exam)
    subject = _subject_of(exam, mode, subject_id)
    inspected = inspect_upload(name, data)
    if exam.status == ExamStatus.LOCKED and not dry_run:
        raise ExamLockedError(LOCKED_MESSAGE)

    def plan_now() -> ScorePlan:
        return score_import_plan(
            exam=exam,
            data=data,
            file_format=inspected.file_format,
            encoding=inspected.encoding,
            mode=mode,
            subject=subject,
            update_totals=update_totals,
            allowed_schools=allowed,
            progress=progress,
        )

    if dry_run:
        return ScoreImportOutcome(plan=plan_now())
    try:
        with transaction.atomic():
            _lock_for_scores(exam)
            plan = plan_now()
            if plan.errors:
                raise _FailedError(plan)
            counts = score_import_apply(plan=plan, actor=actor, progress=progress)
            if counts.created or counts.updated or counts.item_scores or counts.items_created:
                _audit_import(
                    actor=actor,
                    exam=exam,
                    name=_display_name(name),
                    sha256=hashlib.sha256(data).hexdigest(),
                    plan=plan,
                    counts=counts,
                )
            else:
                transaction.set_rollback(True)  # nothing changed: keep the revision
    except _FailedError as failed:
        return ScoreImportOutcome(plan=failed.plan)
    exam.refresh_from_db(fields=["scores_revision", "status"])
    return ScoreImportOutcome(plan=plan, committed=True, counts=counts)


# --------------------------------------------------------------------------- preview/commit
@dataclass
class ScoreImportPreview:
    token: str
    name: str
    plan: ScorePlan


def score_import_preview(
    *,
    actor: User,
    exam: Exam,
    name: str,
    data: bytes,
    mode: str = MODE_SCORES,
    subject_id: int | None = None,
    update_totals: bool = True,
) -> ScoreImportPreview:
    """Read an upload without writing scores, keep the file, and return the plan with a
    signed token naming it for ``score_import_commit``."""
    allowed = _require_import(actor, exam)
    subject = _subject_of(exam, mode, subject_id)
    inspected = inspect_upload(name, data)
    plan = score_import_plan(
        exam=exam,
        data=data,
        file_format=inspected.file_format,
        encoding=inspected.encoding,
        mode=mode,
        subject=subject,
        update_totals=update_totals,
        allowed_schools=allowed,
    )
    display = _display_name(name)
    path = default_storage.save(
        f"exam_imports/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{inspected.file_format}",
        ContentFile(data),
    )
    token = signing.dumps(
        {
            "exam": exam.pk,
            "user": actor.pk,
            "path": path,
            "sha256": hashlib.sha256(data).hexdigest(),
            "name": display,
            "mode": mode,
            "subject": subject.pk if subject else None,
            "totals": update_totals,
            "rows": plan.row_count,
        },
        salt=TOKEN_SALT,
    )
    return ScoreImportPreview(token=token, name=display, plan=plan)


def score_import_token(*, actor: User, exam: Exam, token: str) -> dict[str, Any]:
    """The signed preview record, if it was issued to ``actor`` for ``exam`` (else an error)."""
    try:
        payload: dict[str, Any] = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        raise ValidationError("预览已过期或无效，请重新上传文件。") from None
    if payload.get("exam") != exam.pk or payload.get("user") != actor.pk:
        raise ValidationError("预览已过期或无效，请重新上传文件。")
    return payload


def score_import_commit(
    *, actor: User, exam: Exam, token: str, progress: Progress | None = None
) -> ScoreImportOutcome:
    """Apply a previewed file: it is read and checked again against the current scores, and
    written all or nothing. The token must have been issued to this user for this exam."""
    payload = score_import_token(actor=actor, exam=exam, token=token)
    path = str(payload["path"])
    if not default_storage.exists(path):
        raise ValidationError("预览的文件已不存在，请重新上传。")
    with default_storage.open(path, "rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != payload["sha256"]:
        raise ValidationError("已保存的导入文件与预览时不一致，请重新上传。")
    extension = path.rsplit(".", 1)[-1]
    outcome = score_import_run(
        actor=actor,
        exam=exam,
        name=f"{payload['name'].rsplit('.', 1)[0]}.{extension}",
        data=data,
        mode=str(payload["mode"]),
        subject_id=payload.get("subject"),
        update_totals=bool(payload.get("totals", True)),
        progress=progress,
    )
    if outcome.committed:
        default_storage.delete(path)
    return outcome


def upload_rejected_outcome(
    error: UploadRejectedError, mode: str = MODE_SCORES
) -> ScoreImportOutcome:
    plan = ScorePlan(mode=mode)
    plan.error(0, "", error.message)
    return ScoreImportOutcome(plan=plan)


# --------------------------------------------------------------------------- background job
# Runner of the job kind ``exams.score_import`` (see ``jobs.registry``): a previewed file
# of at least ``BACKGROUND_ROWS`` rows is committed by the worker, with a progress bar.
KIND = "exams.score_import"
LABEL = "成绩导入"
BACKGROUND_ROWS = 20_000


def _job_exam(actor: User, params: Mapping[str, Any]) -> Exam:
    exam_id = params.get("exam_id")
    if not isinstance(exam_id, int) or isinstance(exam_id, bool):
        raise ValidationError({"exam_id": "缺少考试编号。"})
    exam = Exam.objects.visible_to(actor).filter(pk=exam_id).first()
    if exam is None:
        raise PermissionDenied("该考试不存在，或不在您的权限范围内。")
    return exam


def check(*, actor: User, unit: OrgUnit, params: Mapping[str, Any]) -> None:
    """The rule of the import page: the exam is in scope and the actor may import into it;
    the preview token was issued to the actor for this exam."""
    exam = _job_exam(actor, params)
    if exam.owner_id != unit.pk:
        raise ValidationError("考试不属于任务所选的单位。")
    _require_import(actor, exam)
    score_import_token(actor=actor, exam=exam, token=str(params.get("token", "")))


def run(job_params: Mapping[str, Any], progress: JobProgress) -> JobOutcome:
    actor = job_actor(job_params)
    exam = _job_exam(actor, job_params)
    progress.update(0, 1, "正在读取并核对文件")

    def report(done: int, total: int) -> None:
        progress.update(done, total, "正在核对" if done < total // 2 else "正在写入成绩")

    try:
        outcome = score_import_commit(
            actor=actor, exam=exam, token=str(job_params.get("token", "")), progress=report
        )
    except ValidationError as exc:
        raise JobError("；".join(exc.messages)) from exc
    link = (("返回考试", reverse("exams:exam_detail", kwargs={"exam_id": exam.pk})),)
    if not outcome.committed:
        first = outcome.plan.errors[:5]
        details = "；".join(
            f"第 {e.row} 行{e.column and f'［{e.column}］'}：{e.message}" for e in first
        )
        raise JobError(f"发现 {len(outcome.plan.errors)} 处错误，未写入任何数据。{details}")
    counts = outcome.counts
    assert counts is not None  # noqa: S101 — a committed outcome has counts
    return JobOutcome(
        message=f"导入完成：新增成绩 {counts.created} 个，修改 {counts.updated} 个，"
        f"未变化 {counts.unchanged} 个。",
        data=outcome.as_json() | {"errors": []},
        links=link,
    )
