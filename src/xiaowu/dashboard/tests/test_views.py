from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def facts(client):
    response = client.get("/")
    assert response.status_code == 200
    return response.context.get("facts"), response


def test_district_sees_both_schools_with_totals(world, client_for):
    result, response = facts(client_for("district"))
    assert result.school_count == 2
    assert [(row.label, row.count) for row in result.schools_by_type] == [
        ("初级中学", 1),
        ("完全小学", 1),
    ]
    assert result.class_count == 3
    assert result.student_count == 4
    assert result.student_female == 2
    assert (result.staff.total, result.staff.full_time_teachers) == (1, 1)
    assert [(row.label, row.male, row.female) for row in result.grades] == [
        ("一年级", 1, 1),
        ("三年级", 1, 0),
        ("七年级", 0, 1),
    ]
    body = response.content.decode()
    assert 'data-fact="school_count">2<' in body
    assert 'id="chart-students" type="application/json"' in body


def test_principal_sees_only_the_first_school(world, client_for):
    result, _ = facts(client_for("principal"))
    assert (result.school_count, result.class_count, result.student_count) == (1, 2, 3)
    assert [unit.name for unit in result.scope_units] == ["青石小学"]


def test_teacher_sees_school_aggregates_but_teacher2_only_theirs(world, client_for):
    assert facts(client_for("teacher"))[0].student_count == 3
    other, _ = facts(client_for("teacher2"))
    assert (other.school_count, other.student_count) == (1, 1)


def test_parent_sees_own_child_and_no_aggregates(world, client_for):
    result, response = facts(client_for("parent"))
    assert result is None
    assert [child.name for child in response.context["children"]] == ["张小明"]
    body = response.content.decode()
    assert "张小明" in body
    assert "李小红" not in body  # a classmate
