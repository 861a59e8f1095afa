"""The import wizard and export pages: wiring, status codes, headers, scope (AUTHZ-02, INP-09)."""

from __future__ import annotations

import io
from datetime import date
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from python_calamine import CalamineWorkbook

from xiaowu.audit.models import AuditEvent
from xiaowu.exchange.models import ImportBatch
from xiaowu.exchange.tests.sheets import pupil_id
from xiaowu.students.models import Student

pytestmark = pytest.mark.django_db

PUPIL = pupil_id(date(2018, 3, 5), male=True, sequence=11)


def _csv(*rows: str) -> bytes:
    return "\n".join(["姓名,性别,身份证件号,班级", *rows]).encode("utf-8-sig")


def _upload(client, world, data: bytes, *, name: str = "名单.csv", school=None):
    return client.post(
        reverse("exchange:home"),
        {
            "kind": "students",
            "school": (school or world.school).pk,
            "file": SimpleUploadedFile(name, data),
        },
    )


def test_upload_preview_commit_result(world, client_for):
    client = client_for("office")

    uploaded = _upload(client, world, _csv(f"新同学,男,{PUPIL},一年级(1)班", "无班级,女,,"))

    batch = ImportBatch.objects.get()
    assert uploaded.status_code == 302
    assert uploaded["Location"] == reverse("exchange:batch_detail", args=[batch.pk])
    assert batch.file.name.startswith("imports/")
    assert "名单" not in batch.file.name
    assert batch.original_name == "名单.csv"
    preview = client.get(uploaded["Location"])
    assert preview.status_code == 200
    assert preview.templates[0].name == "exchange/batch_detail.html"
    assert "身份证件号和全国学籍号至少填写一项。" in preview.content.decode()
    assert "确认导入" not in preview.content.decode()

    fixed = _upload(client, world, _csv(f"新同学,男,{PUPIL},一年级(1)班"))
    good = ImportBatch.objects.get(pk=int(fixed["Location"].rstrip("/").split("/")[-1]))
    page = client.get(fixed["Location"]).content.decode()
    assert "确认导入" in page
    assert "新同学" in page
    assert PUPIL not in page
    committed = client.post(reverse("exchange:batch_commit", args=[good.pk]), follow=True)

    assert committed.status_code == 200
    assert "导入完成：新增 1 人，更新 0 人，未变化 0 人。" in committed.content.decode()
    assert Student.objects.get(id_number=PUPIL).school_class_id == world.class_a.pk
    again = client.post(reverse("exchange:batch_commit", args=[good.pk]), follow=True)
    assert "该批次已经导入，不能重复提交。" in again.content.decode()
    assert Student.objects.filter(id_number=PUPIL).count() == 1


def test_hostile_and_oversized_uploads_are_refused_without_storing(world, client_for, settings):
    client = client_for("principal")
    settings.XIAOWU_UPLOAD_MAX_BYTES = 1024

    oversized = _upload(client, world, b"x" * 2048)
    macro = _upload(client, world, b"PK\x03\x04rest", name="名单.xlsm")

    assert oversized.status_code == 413
    assert "文件大小超过" in oversized.content.decode()
    assert macro.status_code == 400
    assert "不接受启用宏的文件" in macro.content.decode()
    assert ImportBatch.objects.count() == 0


def test_school_outside_scope_is_404(world, client_for):
    response = _upload(client_for("principal2"), world, _csv(f"某,男,{PUPIL},一年级(1)班"))

    assert response.status_code == 404
    assert ImportBatch.objects.count() == 0


def test_template_download(world, client_for):
    response = client_for("principal").get(reverse("exchange:template", args=["students"]))

    content = b"".join(response.streaming_content)
    headers = (
        CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()[0]
    )
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert quote("学生基本信息导入模板.xlsx") in response["Content-Disposition"]
    assert headers[:4] == ["姓名", "性别", "出生日期", "出生地"]
    assert client_for("principal").get(reverse("exchange:template", args=["x"])).status_code == 404


def test_export_download_is_masked_for_office_and_audited(world, client_for):
    Student.objects.filter(pk=world.child.pk).update(id_number=PUPIL)
    response = client_for("office").post(
        reverse("exchange:export"), {"school": world.school.pk, "unmasked": "on"}
    )

    content = b"".join(response.streaming_content)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''" + quote("青石小学学生名单_") in disposition
    assert "\n" not in disposition
    assert PUPIL[:6] + "********" + PUPIL[-4:] in [cell for row in rows for cell in row]
    assert PUPIL not in str(rows)
    audit = AuditEvent.objects.get(event="exchange.student_export")
    assert (audit.changes["rows"], audit.changes["unmasked"]) == (3, False)


def test_export_ids_outside_scope_are_404_and_rate_limit_is_429(world, client_for, settings):
    principal = client_for("principal")
    foreign_class = principal.post(
        reverse("exchange:export"),
        {"school": world.school.pk, "school_class": world.class_other.pk},
    )
    foreign_school = client_for("principal2").post(
        reverse("exchange:export"), {"school": world.school.pk}
    )
    settings.XIAOWU_EXPORT_LIMIT_PER_HOUR = 1
    first = principal.post(reverse("exchange:export"), {"school": world.school.pk})
    second = principal.post(reverse("exchange:export"), {"school": world.school.pk})

    assert (foreign_class.status_code, foreign_school.status_code) == (404, 404)
    assert (first.status_code, second.status_code) == (200, 429)
    assert "一小时内最多导出 1 次" in second.content.decode()
    assert AuditEvent.objects.filter(event="exchange.student_export").count() == 1


def test_home_lists_only_batches_the_user_may_import(world, client_for):
    _upload(client_for("principal"), world, _csv(f"某,男,{PUPIL},一年级(1)班"))

    own = client_for("principal").get(reverse("exchange:home"))
    other = client_for("principal2").get(reverse("exchange:home"))

    assert [batch.school_id for batch in own.context["batches"]] == [world.school.pk]
    assert list(other.context["batches"]) == []
