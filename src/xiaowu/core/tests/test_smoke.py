import pytest

pytestmark = pytest.mark.django_db


def test_dashboard_shows_district_totals(world, client_for):
    response = client_for("district").get("/")
    assert response.status_code == 200
    assert response.context["facts"].school_count == 2
    assert response.context["facts"].student_count == 4
