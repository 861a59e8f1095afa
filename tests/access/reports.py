"""Expected access to the work-summary pages."""

from __future__ import annotations

from typing import Any

from conftest import World

from tests.access.common import ANON_LOGIN, LEADERS, OUTSIDERS, Route, expect
from xiaowu.reports.models import GoalSource, SummaryTemplate, TextSlot
from xiaowu.reports.pdf import libreoffice_available
from xiaowu.reports.period import school_year_period
from xiaowu.reports.school_templates import example_template
from xiaowu.reports.services import (
    agreement_create,
    agreement_item_create,
    improvement_goal_create,
    summary_text_add,
    work_summary_create,
)

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


def _agreement(w: World) -> Any:
    return agreement_create(
        actor=w.users["principal"], unit=w.school, period=school_year_period("2025-2026")
    )


def _agreement_id(w: World) -> dict[str, Any]:
    return {"agreement_id": _agreement(w).pk}


def _item_id(w: World) -> dict[str, Any]:
    item = agreement_item_create(
        actor=w.users["principal"],
        agreement=_agreement(w),
        category="safety",
        title="安全稳定",
        target_text="全年无安全责任事故",
        weight=10,
    )
    return {"item_id": item.pk}


def _template_id(w: World) -> dict[str, Any]:
    # Stored directly: the upload service (validation and a trial run) is tested on its own.
    data = example_template()
    template = SummaryTemplate.objects.create(
        org_unit=w.school,
        name="校本模板",
        original_name="校本模板.docx",
        content=data,
        size=len(data),
        sha256="0" * 64,
    )
    return {"template_id": template.pk}


ITEM_DATA = {"category": "safety", "title": "安全稳定", "target_text": "无事故", "weight": "10"}

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
    "reports:agreement_list": Route(
        "get", expect={**ANON_LOGIN, **expect((REPORT_VIEWERS, 200), (["principal2"], 200))}
    ),
    "reports:agreement_detail": Route(
        "get",
        _agreement_id,
        expect={**ANON_LOGIN, **expect((REPORT_VIEWERS, 200), (NO_SCOPE, 404))},
    ),
    "reports:agreement_delete": Route(
        "post",
        _agreement_id,
        expect={**ANON_LOGIN, **expect((REPORT_WRITERS, 302), (NO_SCOPE, 404))},
    ),
    "reports:agreement_report": Route(
        "post",
        _agreement_id,
        expect={**ANON_LOGIN, **expect((REPORT_WRITERS, 302), (NO_SCOPE, 404))},
    ),
    "reports:agreement_item_create": Route(
        "post",
        _agreement_id,
        data=ITEM_DATA,
        expect={**ANON_LOGIN, **expect((REPORT_WRITERS, 302), (NO_SCOPE, 404))},
    ),
    "reports:agreement_item_edit": Route(
        "get", _item_id, expect={**ANON_LOGIN, **expect((REPORT_WRITERS, 200), (NO_SCOPE, 404))}
    ),
    "reports:agreement_item_delete": Route(
        "post", _item_id, expect={**ANON_LOGIN, **expect((REPORT_WRITERS, 302), (NO_SCOPE, 404))}
    ),
    "reports:template_list": Route(
        "get", expect={**ANON_LOGIN, **expect((REPORT_VIEWERS, 200), (["principal2"], 200))}
    ),
    "reports:template_example": Route(
        "get", expect={**ANON_LOGIN, **expect((REPORT_VIEWERS, 200), (["principal2"], 200))}
    ),
    "reports:template_versions": Route(
        "get", _template_id, expect={**ANON_LOGIN, **expect((REPORT_VIEWERS, 200), (NO_SCOPE, 404))}
    ),
    "reports:template_download": Route(
        "get", _template_id, expect={**ANON_LOGIN, **expect((REPORT_VIEWERS, 200), (NO_SCOPE, 404))}
    ),
}
