from __future__ import annotations

import pytest

from xiaowu.org.models import OrgUnit, ResearchCluster

pytestmark = pytest.mark.django_db


def test_create_class_through_the_form(world, client_for):
    response = client_for("principal").post(
        f"/org/units/{world.school.pk}/new/",
        {"kind": "school_class", "code": "S1-C201", "name": "", "grade": "2", "class_number": "1"},
    )
    unit = OrgUnit.objects.get(code="S1-C201")
    assert response.status_code == 302
    assert response["Location"] == f"/org/units/{unit.pk}/"
    assert unit.name == "二年级(1)班"


def test_create_form_errors_are_chinese_and_nothing_is_written(world, client_for):
    count = OrgUnit.objects.count()
    response = client_for("principal").post(
        f"/org/units/{world.school.pk}/new/",
        {"kind": "school_class", "code": "S1-C101", "grade": "", "class_number": ""},
    )
    body = response.content.decode()
    assert "班级必须选择年级" in body
    assert "班级必须填写班号" in body
    assert OrgUnit.objects.count() == count


def test_tree_children_fragment(world, client_for):
    response = client_for("district").get(f"/org/units/{world.district.pk}/children/")
    body = response.content.decode()
    assert "青石小学" in body
    assert "青石中学" in body
    assert "<html" not in body


def test_class_list_filters_by_school_and_grade(world, client_for):
    client = client_for("district")
    page = (
        client.get("/org/classes/", {"school": world.school.pk, "grade": "3"})
        .context["listing"]
        .page
    )
    assert [(c.name, c.student_count) for c in page] == [("三年级(1)班", 1)]


def test_school_list_counts(world, client_for):
    page = client_for("district").get("/org/schools/", {"sort": "code"}).context["listing"].page
    assert [(s.code, s.class_count, s.student_count) for s in page] == [("S1", 2, 3), ("S2", 1, 1)]


def test_school_search_by_initials(world, client_for):
    page = client_for("district").get("/org/schools/", {"q": "qszx"}).context["listing"].page
    assert [s.name for s in page] == ["青石中学"]


def test_alliance_page_lists_research_clusters_in_scope(world, client_for):
    cluster = ResearchCluster.objects.create(
        code="RC1",
        name="小学语文三年级连片教研组",
        owner=world.district,
        subject="语文",
        grade=3,
        lead_school=world.school,
    )
    cluster.member_schools.set([world.school, world.school_b])
    page = client_for("principal").get("/org/alliances/")
    assert [c.name for c in page.context["clusters"]] == ["小学语文三年级连片教研组"]
    assert "小学语文三年级连片教研组" in page.content.decode()
    assert list(client_for("teacher2").get("/org/alliances/").context["clusters"]) == []
