"""Expected access to the exam setup, score-entry, import and 口径 pages (one entry per named
route of ``exams.urls_entry``).

An exam of the first school is visible to every role whose scope covers that school; 家长 and
users of other schools get 404. 考试查看 (everyone but 值周教师 and 家长) opens the exam pages,
考试管理 at the school (leaders, 教导处) sets it up. The entry grid of 一年级(1)班 opens for those
who may enter scores there (leaders, 教导处, its 班主任) and, read-only, for those who may see
its pupils (副校长, its 任课教师); 级部主任 and 教研组长 see neither.
"""

from __future__ import annotations

from typing import Any

from conftest import World

from tests.access.common import ANON_LOGIN, LEADERS, OUTSIDERS, Route, expect
from xiaowu.exams.models import ExamSubject
from xiaowu.exams.services import caliber_create, exam_lock
from xiaowu.exams.tests.test_setup_services import school_exam

MANAGERS = [*LEADERS, "office"]  # 考试管理 at the first school
VIEWERS = [*MANAGERS, "vice", "gradehead", "research", "headteacher", "teacher"]
NOT_IN_SCOPE = ["parent", *OUTSIDERS]
VIEW_HOLDERS = [*VIEWERS, *OUTSIDERS]  # hold 考试查看 somewhere
MANAGE_HOLDERS = [*MANAGERS, "principal2"]  # hold 考试管理 somewhere
NOT_MANAGERS = ["vice", "gradehead", "research", "headteacher", "teacher", "duty"]


def _exam(w: World) -> dict[str, Any]:
    return {"exam_id": school_exam(w).pk}


def _locked_exam(w: World) -> dict[str, Any]:
    exam = school_exam(w)
    exam_lock(actor=w.users["principal"], exam=exam)
    return {"exam_id": exam.pk}


def _subject(w: World) -> dict[str, Any]:
    exam = school_exam(w)
    subject = ExamSubject.objects.get(exam=exam, subject="英语")
    return {"exam_id": exam.pk, "subject_id": subject.pk}


def _exam_class(w: World) -> dict[str, Any]:
    return {"exam_id": school_exam(w).pk, "class_id": w.class_a.pk}


def _school_caliber(w: World) -> dict[str, Any]:
    caliber = caliber_create(
        actor=w.users["principal"], owner=w.school, name="青石小学口径", config={}
    )
    return {"caliber_id": caliber.pk}


def _view_page(kwargs: Any) -> Route:
    return Route(
        "get",
        kwargs,
        expect={**ANON_LOGIN, **expect((VIEWERS, 200), (["duty"], 403), (NOT_IN_SCOPE, 404))},
    )


def _manage_page(method: str, kwargs: Any, ok: int = 200) -> Route:
    return Route(
        method,
        kwargs,
        expect={
            **ANON_LOGIN,
            **expect((MANAGERS, ok), (NOT_MANAGERS, 403), (NOT_IN_SCOPE, 404)),
        },
    )


ACCESS: dict[str, Route] = {
    "exams:exam_list": Route("get", expect={**ANON_LOGIN, **expect((VIEW_HOLDERS, 200))}),
    "exams:exam_create": Route("get", expect={**ANON_LOGIN, **expect((MANAGE_HOLDERS, 200))}),
    "exams:exam_detail": _view_page(_exam),
    "exams:exam_edit": _manage_page("get", _exam),
    "exams:exam_lock": _manage_page("post", _exam, ok=302),
    "exams:exam_unlock": _manage_page("post", _locked_exam, ok=302),
    "exams:subject_add": _manage_page("get", _exam),
    "exams:subject_edit": _manage_page("get", _subject),
    "exams:subject_delete": _manage_page("post", _subject, ok=302),
    "exams:participants": _view_page(_exam),
    "exams:numbers_assign": _manage_page("post", _exam, ok=302),
    "exams:class_remove": _manage_page("post", _exam_class, ok=302),
    "exams:class_teachers": _view_page(_exam),
    "exams:score_grid": Route(
        "get",
        _exam_class,
        expect={
            **ANON_LOGIN,
            **expect(
                ([*MANAGERS, "vice", "headteacher", "teacher"], 200),
                (["gradehead", "research", "duty"], 403),
                (NOT_IN_SCOPE, 404),
            ),
        },
    ),
    # No JSON body here: past the scope (404) and permission (403) checks it answers 400.
    "exams:score_save": Route(
        "post",
        _exam,
        expect={**ANON_LOGIN, **expect((VIEWERS, 400), (["duty"], 403), (NOT_IN_SCOPE, 404))},
    ),
    "exams:score_import": _manage_page("get", _exam),
    "exams:score_import_commit": _manage_page("post", _exam, ok=302),
    "exams:caliber_list": Route("get", expect={**ANON_LOGIN, **expect((VIEW_HOLDERS, 200))}),
    "exams:caliber_create": Route("get", expect={**ANON_LOGIN, **expect((MANAGE_HOLDERS, 200))}),
    "exams:caliber_detail": _view_page(_school_caliber),
    "exams:caliber_edit": _manage_page("get", _school_caliber),
}
