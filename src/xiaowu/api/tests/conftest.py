"""Fixtures for the API tests: bearer tokens, GET/POST helpers for the world's users, and the
world's register filled in with personal numbers, special groups and teaching assignments."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from xiaowu.accounts.services import api_token_create
from xiaowu.core.identifiers import make_id_number
from xiaowu.org.models import Term
from xiaowu.org.tests.factories import SchoolYearFactory, TermFactory
from xiaowu.staff.models import StaffMember
from xiaowu.staff.services import teaching_assignment_create
from xiaowu.students.models import Guardian, GuardianRelation, Student
from xiaowu.students.reference import DisabilityType, LeftBehind, StudyMode
from xiaowu.students.tests.factories import GuardianFactory, GuardianshipFactory

ApiGet = Callable[..., Any]


@pytest.fixture
def token_for(world) -> Callable[[str], str]:
    """Return a function creating a raw bearer token for one of the world's users."""

    def make(username: str) -> str:
        _token, raw = api_token_create(actor=world.users[username], name=f"{username}-test")
        return raw

    return make


@pytest.fixture
def api_get(token_for) -> ApiGet:
    """Return ``get(username, path, **query)``: a GET with that user's bearer token."""
    tokens: dict[str, str] = {}
    client = Client()

    def get(username: str, path: str, **query: Any) -> Any:
        if username not in tokens:
            tokens[username] = token_for(username)
        return client.get(path, query, HTTP_AUTHORIZATION=f"Bearer {tokens[username]}")

    return get


ApiPost = Callable[..., Any]


@pytest.fixture
def api_post(token_for) -> ApiPost:
    """Return ``post(username, path, body)``: a JSON POST with that user's bearer token."""
    tokens: dict[str, str] = {}
    client = Client(enforce_csrf_checks=True)  # a token needs no CSRF token

    def post(username: str, path: str, body: Any) -> Any:
        if username not in tokens:
            tokens[username] = token_for(username)
        data = body if isinstance(body, str) else json.dumps(body)
        return client.post(
            path,
            data,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {tokens[username]}",
        )

    return post


@dataclass
class Register:
    """The world's students, guardians and staff with personal numbers and special groups."""

    child: Student  # 张小明, class_a: left-behind, needy; parent's child
    classmate: Student  # 李小红, class_a: migrant, disability
    sibling: Student  # 王小刚, class_b: shares a guardian with the child
    grandmother: Guardian  # guardian of both the child and the sibling
    staff: StaffMember  # 孙老师, first school
    other_staff: StaffMember  # 周老师, other district
    term: Term


def _person_id(region: str, day: date, sequence: int) -> str:
    return make_id_number(region, day, sequence)


@pytest.fixture
def register(world) -> Register:
    students = {student.name: student for student in Student.objects.all()}
    for number, student in enumerate(students.values(), start=1):
        id_number = _person_id("620102", date(2015, 3, number), 100 + number * 2 + 1)
        student.id_number = id_number
        student.national_student_number = f"G{id_number}"
        student.birth_date = date(2015, 3, number)
        student.save()
    child, classmate, sibling = students["张小明"], students["李小红"], students["王小刚"]
    Student.objects.filter(pk=child.pk).update(
        left_behind=LeftBehind.ONE_PARENT, is_needy_family=True, health_status="2"
    )
    Student.objects.filter(pk=classmate.pk).update(
        is_migrant_child=True,
        has_disability=True,
        disability_type=DisabilityType.HEARING,
        study_mode=StudyMode.BOARDING,
    )
    parent_guardian = child.guardianships.get().guardian
    parent_guardian.mobile = "13912345678"
    parent_guardian.id_number = _person_id("620102", date(1985, 5, 5), 123)
    parent_guardian.id_type = "1"
    parent_guardian.save()
    grandmother = GuardianFactory(
        name="王奶奶",
        user=None,
        mobile="15812345678",
        id_number=_person_id("620102", date(1955, 1, 1), 222),
    )
    GuardianshipFactory(student=child, guardian=grandmother, relation=GuardianRelation.GRANDMOTHER)
    GuardianshipFactory(
        student=sibling, guardian=grandmother, relation=GuardianRelation.GRANDMOTHER
    )
    staff = StaffMember.objects.get(name="孙老师")
    staff.id_number = _person_id("620102", date(1980, 2, 2), 124)
    staff.mobile = "13698765432"
    staff.subject = "语文"
    staff.user = world.users["teacher"]
    staff.save()
    other_staff = StaffMember.objects.get(name="周老师")
    other_staff.id_number = _person_id("620103", date(1982, 2, 2), 126)
    other_staff.mobile = "13598765432"
    other_staff.save()
    today = timezone.localdate()
    year = SchoolYearFactory(
        name="测试学年", start_on=today - timedelta(days=60), end_on=today + timedelta(days=300)
    )
    term = TermFactory(
        school_year=year,
        number=1,
        start_on=today - timedelta(days=60),
        end_on=today + timedelta(days=100),
    )
    principal = world.users["principal"]
    teaching_assignment_create(
        actor=principal, staff=staff, school_class=world.class_a, term=term, role="head_teacher"
    )
    teaching_assignment_create(
        actor=principal,
        staff=staff,
        school_class=world.class_a,
        term=term,
        role="subject_teacher",
        subject="语文",
        weekly_periods=7,
    )
    teaching_assignment_create(
        actor=world.users["principal2"],
        staff=other_staff,
        school_class=world.class_other,
        term=term,
        role="subject_teacher",
        subject="数学",
        weekly_periods=5,
    )
    for student in (child, classmate, sibling):
        student.refresh_from_db()
    return Register(
        child=child,
        classmate=classmate,
        sibling=sibling,
        grandmother=grandmother,
        staff=staff,
        other_staff=other_staff,
        term=term,
    )
