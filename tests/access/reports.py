"""Expected access to the work-summary pages."""

from __future__ import annotations

from typing import Any

from conftest import World

from tests.access.common import ANON_LOGIN, LEADERS, OUTSIDERS, Route, expect
from xiaowu.reports.models import GoalSource, TextSlot
from xiaowu.reports.pdf import libreoffice_available
from xiaowu.reports.period import school_year_period
from xiaowu.reports.services import improvement_goal_create, summary_text_add, work_summary_create

# reports.view inside the first school: leaders plus vice, office and the grade head.
REPORT_VIEWERS = [*LEADERS, "vice", "office", "gradehead"]
REPORT_WRITERS = [*LEADERS, "office"]
NO_SCOPE = ["parent", *OUTSIDERS]


def _summary(w: World) -> Any:
    return work_summary_create(
        actor=w.users["principal"], unit=w.school, period=school_year_period("2025-2026", 1)
    )


def _summary_id(w: World) -> dict[str, Any]:
    return {"summary_id": _summary(w).pk}


def _text_id(w: World) -> dict[str, Any]:
    text = summary_text_add(
        actor=w.users["principal"], summary=_summary(w), slot=TextSlot.HIGHLIGHTS, body="特色"
    )
    return {"text_id": text.pk}


def _goal_id(w: World) -> dict[str, Any]:
    goal = improvement_goal_create(
        actor=w.users["principal"],
        unit=w.school,
        problem="问题",
        measure="措施",
        source=GoalSource.MANUAL,
    )
    return {"goal_id": goal.pk}


ACCESS: dict[str, Route] = {
    "reports:summary_list": Route(
        "get", expect={**ANON_LOGIN, **expect((REPORT_VIEWERS, 200), (["principal2"], 200))}
    ),
    "reports:goal_list": Route(
        "get", expect={**ANON_LOGIN, **expect((REPORT_VIEWERS, 200), (["principal2"], 200))}
    ),
    "reports:summary_detail": Route(
        "get", _summary_id, expect={**ANON_LOGIN, **expect((REPORT_VIEWERS, 200), (NO_SCOPE, 404))}
    ),
    "reports:summary_json": Route(
        "get", _summary_id, expect={**ANON_LOGIN, **expect((REPORT_VIEWERS, 200), (NO_SCOPE, 404))}
    ),
    "reports:summary_docx": Route(
        "get", _summary_id, expect={**ANON_LOGIN, **expect((REPORT_VIEWERS, 200), (NO_SCOPE, 404))}
    ),
    # Without LibreOffice the PDF view redirects back with a message; with it, 200.
    "reports:summary_pdf": Route(
        "get",
        _summary_id,
        expect={
            **ANON_LOGIN,
            **expect((REPORT_VIEWERS, 200 if libreoffice_available() else 302), (NO_SCOPE, 404)),
        },
    ),
    "reports:summary_text_add": Route(
        "post",
        _summary_id,
        data={"slot": "highlights", "body": "新段落"},
        expect={**ANON_LOGIN, **expect((REPORT_WRITERS, 302), (NO_SCOPE, 404))},
    ),
    "reports:goal_create": Route(
        "post",
        _summary_id,
        data={"problem": "问题", "measure": "措施"},
        expect={**ANON_LOGIN, **expect((REPORT_WRITERS, 302), (NO_SCOPE, 404))},
    ),
    "reports:summary_text_edit": Route(
        "get", _text_id, expect={**ANON_LOGIN, **expect((REPORT_WRITERS, 200), (NO_SCOPE, 404))}
    ),
    "reports:summary_text_delete": Route(
        "post", _text_id, expect={**ANON_LOGIN, **expect((REPORT_WRITERS, 302), (NO_SCOPE, 404))}
    ),
    "reports:summary_import": Route(
        "get", expect={**ANON_LOGIN, **expect((REPORT_WRITERS, 200), (["principal2"], 200))}
    ),
    "reports:goal_update": Route(
        "get", _goal_id, expect={**ANON_LOGIN, **expect((REPORT_WRITERS, 200), (NO_SCOPE, 404))}
    ),
}
