"""Services added for the 学籍 pages: audited unmasking, attachments, stated populations."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from xiaowu.audit.models import AuditEvent
from xiaowu.org.tests.factories import SchoolYearFactory
from xiaowu.students.models import AgeCohortPopulation, StatusChange, StatusChangeAttachment
from xiaowu.students.services import (
    age_cohort_population_record,
    attachment_check,
    guardian_sensitive_view,
    status_change_attachment_add,
    status_change_attachment_open,
    status_change_record,
    status_change_record_with_attachment,
    student_sensitive_view,
)
from xiaowu.students.tests.factories import GuardianFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
PDF = b"%PDF-1.7\n" + b"0" * 32


def upload(content: bytes, name: str = "证明.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


# --------------------------------------------------------------------------- unmasking
def test_student_sensitive_view_returns_the_value_and_audits(world):
    world.child.id_number = "110101200801011230"
    world.child.save()

    value = student_sensitive_view(
        actor=world.users["principal"], student=world.child, field="id_number"
    )

    assert value == "110101200801011230"
    event = AuditEvent.objects.get()
    assert (event.action, event.event, event.org_unit_id, event.changes) == (
        "view_sensitive",
        "students.student_view_id_number",
        world.class_a.pk,
        {"field": "id_number"},
    )


@pytest.mark.parametrize("username", ["office", "vice", "headteacher", "principal2"])
def test_student_sensitive_view_needs_unmask_at_the_school(world, username):
    with pytest.raises(PermissionDenied):
        student_sensitive_view(actor=world.users[username], student=world.child, field="id_number")
    assert not AuditEvent.objects.exists()


def test_student_sensitive_view_refuses_other_fields(world):
    with pytest.raises(ValidationError, match="不支持查看该字段"):
        student_sensitive_view(actor=world.users["admin"], student=world.child, field="address")


def test_guardian_sensitive_view_only_for_the_students_guardians(world):
    guardian = world.child.guardianships.get().guardian
    stranger = GuardianFactory(mobile="13700000000")

    assert guardian_sensitive_view(
        actor=world.users["principal"], student=world.child, guardian=guardian
    ) == (guardian.mobile)
    with pytest.raises(PermissionDenied, match="无关"):
        guardian_sensitive_view(
            actor=world.users["principal"], student=world.child, guardian=stranger
        )
    assert AuditEvent.objects.filter(event="students.guardian_view_mobile").count() == 1


# --------------------------------------------------------------------------- attachments
@pytest.mark.parametrize(
    ("content", "content_type"),
    [(PDF, "application/pdf"), (PNG, "image/png"), (JPG, "image/jpeg")],
)
def test_attachment_check_accepts_pdf_png_and_jpg_by_content(content, content_type):
    assert attachment_check(upload(content, "scan.bin")) == (
        content_type,
        hashlib.sha256(content).hexdigest(),
        len(content),
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"MZ\x90\x00" + b"\x00" * 32, "只能上传 PDF、JPG 或 PNG 文件。"),
        (b"<html><script>", "只能上传 PDF、JPG 或 PNG 文件。"),
        (b"", "上传的文件是空的。"),
    ],
)
def test_attachment_check_rejects_other_content(content, message):
    with pytest.raises(ValidationError) as excinfo:
        attachment_check(upload(content))
    assert excinfo.value.message_dict == {"attachment": [message]}


def test_attachment_check_enforces_the_size_limit(settings):
    settings.XIAOWU_UPLOAD_MAX_BYTES = 20

    with pytest.raises(ValidationError, match="文件不能超过 20 字节"):
        attachment_check(upload(PDF))


def test_record_with_attachment_stores_both_in_one_transaction(world):
    event = status_change_record_with_attachment(
        actor=world.users["principal"],
        student=world.child,
        kind="transfer_out",
        effective_on=date(2025, 10, 1),
        counterpart="白河小学",
        attachment=upload(PDF, "C:\\扫描\\转学证明.pdf"),
    )

    attachment = StatusChangeAttachment.objects.get()
    assert attachment.status_change_id == event.pk
    assert attachment.original_name == "转学证明.pdf"
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert attachment.file.name == f"status_changes/{event.pk}/{attachment.sha256[:16]}"
    assert attachment.file.read() == PDF
    assert AuditEvent.objects.filter(event="students.status_change_attachment_add").count() == 1


def test_record_with_a_bad_attachment_writes_nothing(world):
    with pytest.raises(ValidationError):
        status_change_record_with_attachment(
            actor=world.users["principal"],
            student=world.child,
            kind="transfer_out",
            effective_on=date(2025, 10, 1),
            attachment=upload(b"MZ\x90\x00"),
        )

    world.child.refresh_from_db()
    assert world.child.status == "enrolled"
    assert not StatusChange.objects.exists()
    assert not StatusChangeAttachment.objects.exists()


def test_attachment_add_and_open_check_permissions(world):
    event = status_change_record(
        actor=world.users["principal"],
        student=world.child,
        kind="suspension",
        effective_on=date(2025, 10, 1),
    )
    with pytest.raises(PermissionDenied):
        status_change_attachment_add(
            actor=world.users["vice"], status_change=event, upload=upload(PDF)
        )
    attachment = status_change_attachment_add(
        actor=world.users["office"], status_change=event, upload=upload(PDF)
    )
    for username in ("parent", "research"):
        with pytest.raises(PermissionDenied):
            status_change_attachment_open(actor=world.users[username], attachment=attachment)

    handle = status_change_attachment_open(actor=world.users["teacher"], attachment=attachment)

    assert handle.read() == PDF
    assert StatusChangeAttachment.objects.count() == 1
    assert AuditEvent.objects.filter(event="students.status_change_attachment_open").count() == 1


# --------------------------------------------------------------------------- 适龄人口
def test_population_record_creates_then_corrects_with_audit(world):
    school_year = SchoolYearFactory()
    principal = world.users["principal"]

    first = age_cohort_population_record(
        actor=principal,
        org_unit=world.school,
        school_year=school_year,
        age_from=6,
        age_to=11,
        headcount=120,
        source="监测信息库",
    )
    second = age_cohort_population_record(
        actor=principal,
        org_unit=world.school,
        school_year=school_year,
        age_from=6,
        age_to=11,
        headcount=118,
        source=" 监测信息库（更正） ",
    )

    assert first.pk == second.pk
    assert AgeCohortPopulation.objects.get().headcount == 118
    assert AgeCohortPopulation.objects.get().source == "监测信息库（更正）"
    events = list(
        AuditEvent.objects.filter(event="students.age_cohort_population_record")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert events == ["create", "update"]
    assert AuditEvent.objects.order_by("-id").first().changes["headcount"] == {
        "before": 120,
        "after": 118,
    }


def test_population_record_needs_manage_at_the_unit(world):
    school_year = SchoolYearFactory()

    for username, unit in (("vice", world.school), ("principal", world.district)):
        with pytest.raises(PermissionDenied):
            age_cohort_population_record(
                actor=world.users[username],
                org_unit=unit,
                school_year=school_year,
                age_from=6,
                age_to=11,
                headcount=10,
                source="x",
            )
    assert not AgeCohortPopulation.objects.exists()


def test_population_record_validates_in_chinese(world):
    with pytest.raises(ValidationError) as excinfo:
        age_cohort_population_record(
            actor=world.users["admin"],
            org_unit=world.class_a,
            school_year=SchoolYearFactory(),
            age_from=2,
            age_to=11,
            headcount=0,
            source=" ",
        )

    assert excinfo.value.message_dict == {
        "org_unit": ["适龄人口只能登记在教育局、学区或学校。"],
        "age_from": ["年龄应在 3—18 周岁之间。"],
        "headcount": ["人数应大于 0。"],
        "source": ["请填写数据来源，如“义务教育入学监测信息库”。"],
    }
