"""Expected access to the students pages (one entry per named route).

Student records follow the relationship scope (AUTHZ-04): the first school's leaders, 副校长
and 教导处 see all its students, the 级部主任 only the students of class_b, the teachers of
class_a their class, a 家长 only their own child; 教研组长 and 值周教师 see no student records.
An id outside that scope answers 404; inside it, a missing permission answers 403.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from conftest import World
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.access.common import ANON_LOGIN, LEADERS, OUTSIDERS, Route, expect
from xiaowu.students.services import status_change_attachment_add, status_change_record

# Roles that hold 学籍查看 somewhere (the lists and statistics).
STUDENT_VIEWERS = [*LEADERS, "vice", "office", "gradehead", "headteacher", "teacher", *OUTSIDERS]
# Roles that hold 学籍管理 somewhere (the create forms).
STUDENT_MANAGERS = [*LEADERS, "office", "principal2"]
# Whose record scope covers world.child (class_a), with 学籍查看 there.
CHILD_VIEWERS = [*LEADERS, "vice", "office", "headteacher", "teacher"]
# Whose record scope does not cover world.child.
NOT_CHILD = ["gradehead", "research", "duty", *OUTSIDERS]


def _child(w: World) -> dict[str, Any]:
    return {"student_id": w.child.pk}


def _child_id_number(w: World) -> dict[str, Any]:
    return {"student_id": w.child.pk, "field": "id_number"}


def _child_guardian(w: World) -> dict[str, Any]:
    guardianship = w.child.guardianships.get()
    return {"student_id": w.child.pk, "guardian_id": guardianship.guardian_id}


def _child_attachment(w: World) -> dict[str, Any]:
    event = status_change_record(
        actor=w.users["admin"], student=w.child, kind="suspension", effective_on=date(2025, 3, 1)
    )
    attachment = status_change_attachment_add(
        actor=w.users["admin"],
        status_change=event,
        upload=SimpleUploadedFile("休学证明.pdf", b"%PDF-1.4 test", content_type="application/pdf"),
    )
    return {"student_id": w.child.pk, "attachment_id": attachment.pk}


ACCESS: dict[str, Route] = {
    "students:list": Route("get", expect={**ANON_LOGIN, **expect((STUDENT_VIEWERS, 200))}),
    "students:stats": Route("get", expect={**ANON_LOGIN, **expect((STUDENT_VIEWERS, 200))}),
    "students:create": Route("get", expect={**ANON_LOGIN, **expect((STUDENT_MANAGERS, 200))}),
    "students:population_create": Route(
        "get", expect={**ANON_LOGIN, **expect((STUDENT_MANAGERS, 200))}
    ),
    "students:detail": Route(
        "get",
        _child,
        expect={**ANON_LOGIN, **expect(([*CHILD_VIEWERS, "parent"], 200), (NOT_CHILD, 404))},
    ),
    "students:update": Route(
        "get",
        _child,
        expect={**ANON_LOGIN, **expect(([*LEADERS, "office"], 200), (NOT_CHILD, 404))},
    ),
    "students:status_change_create": Route(
        "get",
        _child,
        expect={**ANON_LOGIN, **expect(([*LEADERS, "office"], 200), (NOT_CHILD, 404))},
    ),
    "students:unmask": Route(
        "post",
        _child_id_number,
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (NOT_CHILD, 404))},
    ),
    "students:guardian_mobile_unmask": Route(
        "post",
        _child_guardian,
        expect={**ANON_LOGIN, **expect((LEADERS, 200), (NOT_CHILD, 404))},
    ),
    "students:attachment": Route(
        "get",
        _child_attachment,
        expect={**ANON_LOGIN, **expect((CHILD_VIEWERS, 200), (NOT_CHILD, 404))},
    ),
}
