"""学籍 pages: list filters and search, masking, forms end to end, scope, statistics."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from xiaowu.audit.models import AuditEvent
from xiaowu.core.identifiers import make_id_number
from xiaowu.org.models import Term
from xiaowu.org.tests.factories import TermFactory
from xiaowu.students.models import (
    AgeCohortPopulation,
    ClassMembership,
    StatusChange,
    StatusChangeAttachment,
    Student,
)
from xiaowu.students.selectors import dropout_rate, student_headcount_by_grade_gender
from xiaowu.students.services import status_change_record, student_update

pytestmark = pytest.mark.django_db

FULL_ID = re.compile(r"\d{17}[\dX]")
FULL_MOBILE = re.compile(r"1[3-9]\d{9}")
PDF = b"%PDF-1.4\n%test\n"


def names(response) -> list[str]:
    return [s.name for s in response.context["listing"].page]


def student(name: str) -> Student:
    return Student.objects.get(name=name)


# --------------------------------------------------------------------------- list
def test_list_filters_by_special_group_grade_and_status(world, client_for):
    Student.objects.filter(name="李小红").update(left_behind="1")
    Student.objects.filter(name="王小刚").update(is_orphan=True, study_mode="2")
    status_change_record(
        actor=world.users["principal"],
        student=world.child,
        kind="suspension",
        effective_on=date(2025, 3, 1),
    )
    client = client_for("principal")

    assert names(client.get("/students/", {"group": "left_behind"})) == ["李小红"]
    assert names(client.get("/students/", {"group": ["orphan", "boarding"]})) == ["王小刚"]
    assert names(client.get("/students/", {"group": ["orphan", "left_behind"]})) == []
    assert names(client.get("/students/", {"grade": "3"})) == ["王小刚"]
    # The list shows 在校 students unless another 学籍状态 is chosen.
    assert sorted(names(client.get("/students/"))) == ["李小红", "王小刚"]
    assert names(client.get("/students/", {"status": "suspended"})) == ["张小明"]
    assert len(names(client.get("/students/", {"status": "all"}))) == 3


def test_list_filters_by_school_and_class_for_a_district_leader(world, client_for):
    client = client_for("district")

    assert sorted(names(client.get("/students/", {"school": world.school_b.pk}))) == ["赵小丽"]
    assert sorted(names(client.get("/students/", {"class": world.class_a.pk}))) == [
        "张小明",
        "李小红",
    ]
    assert len(names(client.get("/students/"))) == 4
    # The class filter offers the classes of the chosen school and grade.
    assert list(client.get("/students/", {"grade": "3"}).context["classes"]) == [world.class_b]


def test_special_group_filter_needs_the_right_to_see_special_groups(world, client_for):
    """A 副校长 may list students but not learn who is an orphan by filtering."""
    Student.objects.filter(name="王小刚").update(is_orphan=True)

    response = client_for("vice").get("/students/", {"group": "orphan"})

    assert sorted(names(response)) == ["张小明", "李小红", "王小刚"]
    assert 'name="group"' not in response.content.decode()
    assert 'name="group"' in client_for("office").get("/students/").content.decode()


@pytest.mark.parametrize("term", ["zxm", "zhangxiaoming", "张小明", "ZXM", "小明"])
def test_search_understands_pinyin(world, client_for, term):
    assert names(client_for("principal").get("/students/", {"q": term})) == ["张小明"]


def test_search_finds_register_and_id_numbers(world, client_for):
    id_number = make_id_number("620102", date(2018, 5, 4), 12)
    Student.objects.filter(pk=world.child.pk).update(
        id_number=id_number, national_student_number="G" + id_number
    )
    client = client_for("principal")

    assert names(client.get("/students/", {"q": id_number.lower()})) == ["张小明"]
    assert names(client.get("/students/", {"q": "g" + id_number})) == ["张小明"]


def test_sort_by_name_descending(world, client_for):
    response = client_for("principal").get("/students/", {"sort": "-name"})

    assert names(response) == ["张小明", "王小刚", "李小红"]


def test_htmx_request_returns_the_table_and_refreshes_the_class_filter(world, client_for):
    response = client_for("district").get(
        "/students/", {"school": world.school_b.pk}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()

    assert "<table" in body
    assert "<html" not in body
    assert 'hx-swap-oob="true"' in body
    assert "七年级(1)班" in body
    assert "一年级(1)班" not in body


def test_gradehead_lists_only_the_students_of_the_grade_division(world, client_for):
    client = client_for("gradehead")

    assert names(client.get("/students/")) == ["王小刚"]
    assert client.get(f"/students/{world.child.pk}/").status_code == 404


def test_list_never_shows_ranks(world, client_for):
    body = client_for("principal").get("/students/").content.decode()

    assert "排名" not in body
    assert "名次" not in body


# --------------------------------------------------------------------------- masking
def _give_identifiers(world) -> str:
    id_number = make_id_number("620102", date(2018, 5, 4), 12)
    Student.objects.filter(pk=world.child.pk).update(
        id_number=id_number, national_student_number="G" + id_number
    )
    guardian = world.child.guardianships.get().guardian
    guardian.mobile = "13912345678"
    guardian.save()
    return id_number


@pytest.mark.parametrize("username", ["admin", "principal", "office", "teacher", "parent"])
def test_list_and_detail_never_contain_full_identifiers(world, client_for, username):
    _give_identifiers(world)
    client = client_for(username)
    pages = [client.get(f"/students/{world.child.pk}/").content.decode()]
    if username != "parent":
        pages.append(client.get("/students/").content.decode())
        pages.append(client.get(f"/students/?q={world.child.name}").content.decode())

    for body in pages:
        assert "张小明" in body
        assert FULL_ID.search(body) is None
        assert FULL_MOBILE.search(body) is None
    assert "620102********" in pages[0]


def test_unmask_shows_the_full_id_and_records_it(world, client_for):
    id_number = _give_identifiers(world)
    client = client_for("principal")
    detail = client.get(f"/students/{world.child.pk}/").content.decode()
    assert f'hx-post="/students/{world.child.pk}/reveal/id_number/"' in detail

    response = client.post(f"/students/{world.child.pk}/reveal/id_number/")

    assert response.status_code == 200
    assert id_number in response.content.decode()
    event = AuditEvent.objects.get(event="students.student_view_id_number")
    assert (event.action, event.target_id, event.actor_id) == (
        "view_sensitive",
        str(world.child.pk),
        world.users["principal"].pk,
    )


def test_unmask_guardian_mobile_is_audited(world, client_for):
    _give_identifiers(world)
    guardian = world.child.guardianships.get().guardian

    response = client_for("principal").post(
        f"/students/{world.child.pk}/guardians/{guardian.pk}/mobile/"
    )

    assert "13912345678" in response.content.decode()
    assert AuditEvent.objects.filter(event="students.guardian_view_mobile").count() == 1


def test_office_without_unmask_right_gets_no_button_and_403(world, client_for):
    _give_identifiers(world)
    client = client_for("office")

    assert "reveal/id_number" not in client.get(f"/students/{world.child.pk}/").content.decode()
    assert client.post(f"/students/{world.child.pk}/reveal/id_number/").status_code == 403
    assert not AuditEvent.objects.filter(action="view_sensitive").exists()


def test_unmask_unknown_field_is_404(world, client_for):
    response = client_for("principal").post(f"/students/{world.child.pk}/reveal/address/")

    assert response.status_code == 404


# --------------------------------------------------------------------------- detail and scope
def test_parent_sees_only_their_own_child_with_limited_fields(world, client_for):
    Student.objects.filter(pk=world.child.pk).update(is_orphan=True, address="青石镇1号")
    client = client_for("parent")

    response = client.get(f"/students/{world.child.pk}/")
    body = response.content.decode()

    assert response.status_code == 200
    assert "张小明" in body
    assert "特殊群体" not in body
    assert "孤儿" not in body
    assert "青石镇1号" not in body
    assert "显示" not in body
    assert "编辑学籍" not in body
    assert client.get(f"/students/{student('李小红').pk}/").status_code == 404
    assert client.get(f"/students/{student('钱小军').pk}/").status_code == 404
    assert client.get("/students/").status_code == 403


def test_special_groups_only_for_managers_and_unmaskers(world, client_for):
    Student.objects.filter(pk=world.child.pk).update(left_behind="2")
    url = f"/students/{world.child.pk}/"

    assert "双亲留守儿童" in client_for("principal").get(url).content.decode()
    assert "双亲留守儿童" in client_for("office").get(url).content.decode()
    assert "双亲留守儿童" not in client_for("vice").get(url).content.decode()
    assert "双亲留守儿童" not in client_for("headteacher").get(url).content.decode()


def test_teacher_of_another_school_gets_404(world, client_for):
    response = client_for("teacher2").get(f"/students/{world.child.pk}/")

    assert response.status_code == 404


# --------------------------------------------------------------------------- edit
def _edit_data(s: Student, **changes) -> dict[str, object]:
    data: dict[str, object] = {
        "version": s.version,
        "name": s.name,
        "former_name": s.former_name,
        "gender": s.gender,
        "birth_date": "",
        "ethnicity": s.ethnicity,
        "nationality": s.nationality,
        "id_type": s.id_type,
        "id_number": "",
        "overseas_status": s.overseas_status,
        "birthplace_region": "",
        "native_place": "",
        "hukou_region": "",
        "address": "",
        "national_student_number": "",
        "class_seat_number": "",
        "enrolled_on": "2024-09-01",
        "study_mode": s.study_mode,
        "health_status": s.health_status,
        "left_behind": s.left_behind,
        "disability_type": "",
    }
    data.update(changes)
    return data


def test_edit_saves_and_keeps_identifiers_when_left_empty(world, client_for):
    id_number = _give_identifiers(world)
    child = student("张小明")
    client = client_for("principal")
    form_page = client.get(f"/students/{child.pk}/edit/").content.decode()
    assert FULL_ID.search(form_page) is None

    response = client.post(
        f"/students/{child.pk}/edit/", _edit_data(child, address="青石镇2号", is_migrant_child="on")
    )

    assert response.status_code == 302
    child.refresh_from_db()
    assert (child.address, child.is_migrant_child, child.id_number, child.version) == (
        "青石镇2号",
        True,
        id_number,
        2,
    )


def test_stale_edit_shows_the_conflict_and_keeps_the_users_input(world, client_for):
    child = student("张小明")
    loaded_version = child.version
    # Someone else saves first.
    student_update(
        actor=world.users["office"], student=child, version=loaded_version, address="办公室改的"
    )

    response = client_for("principal").post(
        f"/students/{child.pk}/edit/",
        _edit_data(child, version=loaded_version, address="校长改的"),
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "该学生信息已被他人修改，请刷新页面后重试。" in body
    assert 'value="校长改的"' in body
    child.refresh_from_db()
    assert (child.address, child.version) == ("办公室改的", loaded_version + 1)


def test_edit_shows_service_errors_in_chinese(world, client_for):
    child = student("张小明")

    response = client_for("principal").post(
        f"/students/{child.pk}/edit/", _edit_data(child, id_number="110101200801011231")
    )

    assert "校验位不符" in response.content.decode()
    child.refresh_from_db()
    assert child.id_number is None


# --------------------------------------------------------------------------- register
def test_register_form_enrols_a_new_student(world, client_for):
    id_number = make_id_number("620102", date(2019, 3, 8), 21)
    data = _edit_data(student("张小明"), name="陈新生", id_number=id_number)
    data.update(
        kind="enrollment", school_class=world.class_a.pk, effective_on="2025-09-01", reason=""
    )
    data.pop("version")

    response = client_for("office").post("/students/new/", data)

    created = student("陈新生")
    assert response.status_code == 302
    assert response["Location"] == f"/students/{created.pk}/"
    assert (created.school_id, created.school_class_id, created.id_number) == (
        world.school.pk,
        world.class_a.pk,
        id_number,
    )
    assert list(created.status_changes.values_list("kind", flat=True)) == ["enrollment"]


def test_register_form_does_not_offer_classes_outside_the_managed_school(world, client_for):
    data = _edit_data(student("张小明"), name="陈新生")
    data.update(kind="enrollment", school_class=world.class_other.pk, effective_on="2025-09-01")

    response = client_for("principal").post("/students/new/", data)

    assert "选择一个有效的选项" in response.content.decode()
    assert not Student.objects.filter(name="陈新生").exists()


# --------------------------------------------------------------------------- 异动
def test_status_change_form_end_to_end(world, client_for):
    child = student("张小明")
    client = client_for("principal")

    response = client.post(
        f"/students/{child.pk}/status-changes/new/",
        {
            "kind": "class_change",
            "effective_on": "2025-10-08",
            "to_class": world.class_b.pk,
            "reason": "家长申请",
            "document_number": "青小〔2025〕3号",
        },
    )

    assert response.status_code == 302
    child.refresh_from_db()
    assert child.school_class_id == world.class_b.pk
    assert list(
        ClassMembership.objects.filter(student=child).values_list(
            "school_class_id", "start_on", "end_on"
        )
    ) == [
        (world.class_a.pk, date(2024, 9, 1), date(2025, 10, 8)),
        (world.class_b.pk, date(2025, 10, 8), None),
    ]
    body = client.get(f"/students/{child.pk}/").content.decode()
    history = body[body.index('id="history"') : body.index('id="memberships"')]
    memberships = body[body.index('id="memberships"') :]
    assert "2025-10-08" in history
    assert "调班" in history
    assert "一年级(1)班 → 三年级(1)班" in history
    assert "家长申请" in history
    assert "principal用户" in history
    assert memberships.index("一年级(1)班") < memberships.index("三年级(1)班")
    assert "至今" in memberships


def test_status_change_offers_only_kinds_allowed_from_the_status(world, client_for):
    response = client_for("principal").get(f"/students/{world.child.pk}/status-changes/new/")

    kinds = [value for value, _label in response.context["kinds"]]
    assert "class_change" in kinds
    assert "resumption" not in kinds
    assert "enrollment" not in kinds


def test_status_change_service_error_returns_to_the_form(world, client_for):
    response = client_for("principal").post(
        f"/students/{world.child.pk}/status-changes/new/",
        {"kind": "class_change", "effective_on": "2025-10-08", "to_class": world.class_a.pk},
    )

    assert "新班级与原班级相同。" in response.content.decode()
    assert not StatusChange.objects.exists()


def test_status_change_target_class_must_be_in_the_students_school(world, client_for):
    response = client_for("district").post(
        f"/students/{world.child.pk}/status-changes/new/",
        {"kind": "class_change", "effective_on": "2025-10-08", "to_class": world.class_other.pk},
    )

    assert "选择一个有效的选项" in response.content.decode()
    assert not StatusChange.objects.exists()


def test_attachment_upload_rejects_a_renamed_exe(world, client_for):
    exe = SimpleUploadedFile(
        "转学证明.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "application/pdf"
    )

    response = client_for("principal").post(
        f"/students/{world.child.pk}/status-changes/new/",
        {
            "kind": "transfer_out",
            "effective_on": "2025-10-08",
            "counterpart": "白河小学",
            "attachment": exe,
        },
    )

    assert response.status_code == 200
    assert "只能上传 PDF、JPG 或 PNG 文件。" in response.content.decode()
    assert not StatusChange.objects.exists()
    assert not StatusChangeAttachment.objects.exists()
    world.child.refresh_from_db()
    assert world.child.status == "enrolled"


def test_attachment_is_stored_under_a_generated_name_and_downloads_audited(world, client_for):
    client = client_for("principal")
    client.post(
        f"/students/{world.child.pk}/status-changes/new/",
        {
            "kind": "transfer_out",
            "effective_on": "2025-10-08",
            "counterpart": "白河小学",
            "attachment": SimpleUploadedFile("../../转学证明.pdf", PDF, "text/plain"),
        },
    )

    attachment = StatusChangeAttachment.objects.get()
    assert (attachment.original_name, attachment.content_type, attachment.size) == (
        "转学证明.pdf",
        "application/pdf",
        len(PDF),
    )
    assert attachment.file.name.startswith(f"status_changes/{attachment.status_change_id}/")
    assert "转学证明" not in attachment.file.name
    detail = client.get(f"/students/{world.child.pk}/").content.decode()
    assert f"/students/{world.child.pk}/attachments/{attachment.pk}/" in detail

    download = client_for("headteacher").get(
        f"/students/{world.child.pk}/attachments/{attachment.pk}/"
    )

    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert AuditEvent.objects.filter(event="students.status_change_attachment_open").count() == 1


def test_parent_sees_history_without_internal_details(world, client_for):
    status_change_record(
        actor=world.users["principal"],
        student=world.child,
        kind="suspension",
        effective_on=date(2025, 3, 1),
        reason="病休",
        document_number="内部文号9",
        note="内部备注",
    )

    body = client_for("parent").get(f"/students/{world.child.pk}/").content.decode()

    assert "休学" in body
    assert "病休" in body
    assert "内部文号9" not in body
    assert "内部备注" not in body
    assert "principal用户" not in body


# --------------------------------------------------------------------------- 学籍统计
def test_stats_numbers_equal_the_selectors(world, client_for):
    TermFactory(start_on=date(2025, 9, 1), end_on=date(2026, 1, 20))
    Student.objects.filter(school=world.school).update(birth_date=date(2018, 3, 1))
    status_change_record(
        actor=world.users["principal"],
        student=student("李小红"),
        kind="dropout",
        effective_on=date(2025, 10, 10),
    )
    principal = world.users["principal"]
    client = client_for("principal")
    client.post(
        "/students/stats/population/new/",
        {
            "org_unit": world.school.pk,
            "school_year": Term.objects.get().school_year_id,
            "age_from": 6,
            "age_to": 11,
            "headcount": 4,
            "source": "2025年入学监测信息库",
        },
    )

    response = client.get(
        "/students/stats/", {"on": "2025-11-01", "start_on": "2025-09-01", "end_on": "2025-11-01"}
    )

    context = response.context
    expected = student_headcount_by_grade_gender(actor=principal, on=date(2025, 11, 1))
    assert context["total"] == sum(c.headcount for c in expected) == 2
    assert [(r.label, r.male, r.female) for r in context["rows"]] == [
        ("一年级", 1, 0),
        ("三年级", 1, 0),
    ]
    rate = dropout_rate(actor=principal, start_on=date(2025, 9, 1), end_on=date(2025, 11, 1))
    assert context["dropout"] == rate
    assert (rate.numerator, rate.denominator, str(rate)) == (1, 3, "33.33%")
    body = response.content.decode()
    assert "33.33%" in body
    assert 'data-chart="chart-grades"' in body
    assert '<script id="chart-grades" type="application/json">' in body
    [(cohort, enrollment)] = context["enrollment"]
    assert (enrollment.numerator, enrollment.denominator, str(enrollment)) == (2, 4, "50.00%")
    assert cohort.source == "2025年入学监测信息库"


def test_stats_for_a_teacher_count_the_whole_school(world, client_for):
    response = client_for("teacher").get("/students/stats/")

    assert response.context["total"] == 3
    assert response.context["enrollment"] == []


def test_population_form_checks_ages_in_chinese(world, client_for):
    TermFactory()

    response = client_for("principal").post(
        "/students/stats/population/new/",
        {
            "org_unit": world.school.pk,
            "school_year": Term.objects.get().school_year_id,
            "age_from": 11,
            "age_to": 6,
            "headcount": 10,
            "source": "测算",
        },
    )

    assert "截止年龄不能小于起始年龄。" in response.content.decode()
    assert not AgeCohortPopulation.objects.exists()
