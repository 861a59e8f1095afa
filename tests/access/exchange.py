"""Expected access to the exchange pages (one entry per named route)."""

from __future__ import annotations

from datetime import date
from typing import Any

from conftest import World

from tests.access.common import ANON_LOGIN, LEADERS, OUTSIDERS, Route, expect
from xiaowu.core.identifiers import make_id_number
from xiaowu.exchange.services import import_preview

# Who may import or export at the first school: the leaders and the 教导处 (office).
MANAGERS = [*LEADERS, "office"]


def _first_school_batch(w: World) -> dict[str, Any]:
    """A previewed, error-free student import of the first school."""
    pupil = make_id_number("621301", date(2018, 3, 5), 1)
    data = f"姓名,性别,身份证件号,班级\n新生,男,{pupil},一年级(1)班\n".encode("utf-8-sig")
    batch = import_preview(
        actor=w.users["principal"], school=w.school, kind="students", name="新生.csv", data=data
    )
    return {"batch_id": batch.pk}


ACCESS: dict[str, Route] = {
    "exchange:home": Route(
        "get", expect={**ANON_LOGIN, **expect((MANAGERS, 200), (["principal2"], 200))}
    ),
    "exchange:batch_detail": Route(
        "get",
        _first_school_batch,
        expect={**ANON_LOGIN, **expect((MANAGERS, 200), (["parent", *OUTSIDERS], 404))},
    ),
    "exchange:batch_commit": Route(
        "post",
        _first_school_batch,
        expect={**ANON_LOGIN, **expect((MANAGERS, 302), (["parent", *OUTSIDERS], 404))},
    ),
    "exchange:template": Route(
        "get",
        lambda w: {"kind": "students"},
        expect={**ANON_LOGIN, **expect((MANAGERS, 200), (["principal2"], 200))},
    ),
    "exchange:export": Route(
        "get", expect={**ANON_LOGIN, **expect((MANAGERS, 200), (["principal2"], 200))}
    ),
}
