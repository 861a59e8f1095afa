"""Global fixtures: a small two-district world with one actor for every role."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client

from xiaowu.accounts.middleware import SESSION_LOGIN_AT
from xiaowu.accounts.models import User
from xiaowu.accounts.roles import Role
from xiaowu.accounts.tests.factories import RoleAssignmentFactory, UserFactory
from xiaowu.core.models import Gender
from xiaowu.org.models import OfficeType, OrgUnit, SchoolType, UnitKind
from xiaowu.org.tests.factories import (
    BureauFactory,
    DistrictFactory,
    OrgUnitFactory,
    SchoolClassFactory,
    SchoolFactory,
)
from xiaowu.staff.tests.factories import StaffMemberFactory
from xiaowu.students.models import Student
from xiaowu.students.tests.factories import GuardianFactory, GuardianshipFactory, StudentFactory


@pytest.fixture(scope="session")
def _var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway VAR_DIR: analysis caches and uploads never land in the checkout's var/."""
    return tmp_path_factory.mktemp("var")


@pytest.fixture(autouse=True)
def _test_settings(settings: pytest.FixtureRequest, _var_dir: Path) -> None:
    settings.VAR_DIR = _var_dir
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # No collectstatic in unit tests: serve from the app folders without a manifest.
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@dataclass
class World:
    bureau: OrgUnit
    district: OrgUnit
    other_district: OrgUnit
    school: OrgUnit  # the first school: where principal, teacher and parent work
    school_b: OrgUnit  # a second school in the same district
    other_school: OrgUnit  # a school of the other district: where teacher2 works
    office: OrgUnit
    grade_division: OrgUnit
    research_group: OrgUnit
    class_a: OrgUnit  # teacher's class (head teacher and subject teacher)
    class_b: OrgUnit  # another class of the first school, in the grade division
    class_other: OrgUnit  # teacher2's class
    child: Student
    users: dict[str, User]


ROLE_USERS: dict[str, tuple[str, str]] = {
    # username: (role, attribute of World holding the unit)
    "admin": (Role.SYSTEM_ADMIN, "bureau"),
    "bureau": (Role.BUREAU_ADMIN, "bureau"),
    "district": (Role.DISTRICT_LEADER, "district"),
    "principal": (Role.PRINCIPAL, "school"),
    "vice": (Role.VICE_PRINCIPAL, "school"),
    "office": (Role.OFFICE_HEAD, "office"),
    "gradehead": (Role.GRADE_HEAD, "grade_division"),
    "research": (Role.RESEARCH_GROUP_HEAD, "research_group"),
    "headteacher": (Role.HEAD_TEACHER, "class_a"),
    "teacher": (Role.SUBJECT_TEACHER, "class_a"),
    "duty": (Role.DUTY_WEEK_TEACHER, "school"),
    "parent": (Role.GUARDIAN, "school"),
    "teacher2": (Role.SUBJECT_TEACHER, "class_other"),
    "principal2": (Role.PRINCIPAL, "other_school"),
}


@pytest.fixture
def world(db: None) -> World:
    bureau = BureauFactory(code="B", name="测试市教育局")
    district = DistrictFactory(code="D1", name="青石学区", parent=bureau)
    other_district = DistrictFactory(code="D2", name="白河学区", parent=bureau)
    school = SchoolFactory(
        code="S1", name="青石小学", parent=district, school_type=SchoolType.COMPLETE_PRIMARY
    )
    school_b = SchoolFactory(
        code="S2", name="青石中学", parent=district, school_type=SchoolType.JUNIOR_MIDDLE
    )
    other_school = SchoolFactory(
        code="S3", name="白河小学", parent=other_district, school_type=SchoolType.COMPLETE_PRIMARY
    )
    office = OrgUnitFactory(
        code="S1-O1",
        name="教导处",
        kind=UnitKind.ADMIN_OFFICE,
        office_type=OfficeType.ACADEMIC_AFFAIRS,
        parent=school,
    )
    grade_division = OrgUnitFactory(
        code="S1-G3", name="三年级组", kind=UnitKind.GRADE_DIVISION, grade=3, parent=school
    )
    research_group = OrgUnitFactory(
        code="S1-R1",
        name="语文教研组",
        kind=UnitKind.TEACHING_RESEARCH_GROUP,
        subject="语文",
        parent=school,
    )
    class_a = SchoolClassFactory(
        code="S1-C101", name="一年级(1)班", grade=1, class_number=1, parent=school
    )
    class_b = SchoolClassFactory(
        code="S1-C301", name="三年级(1)班", grade=3, class_number=1, parent=grade_division
    )
    class_b_school = SchoolClassFactory(
        code="S2-C701", name="七年级(1)班", grade=7, class_number=1, parent=school_b
    )
    class_other = SchoolClassFactory(
        code="S3-C101", name="一年级(1)班", grade=1, class_number=1, parent=other_school
    )
    child = StudentFactory(school_class=class_a, name="张小明", gender=Gender.MALE)
    StudentFactory(school_class=class_a, name="李小红", gender=Gender.FEMALE)
    StudentFactory(school_class=class_b, name="王小刚", gender=Gender.MALE)
    StudentFactory(school_class=class_b_school, name="赵小丽", gender=Gender.FEMALE)
    StudentFactory(school_class=class_other, name="钱小军", gender=Gender.MALE)
    StaffMemberFactory(org_unit=school, name="孙老师")
    StaffMemberFactory(org_unit=other_school, name="周老师")
    w = World(
        bureau=bureau,
        district=district,
        other_district=other_district,
        school=school,
        school_b=school_b,
        other_school=other_school,
        office=office,
        grade_division=grade_division,
        research_group=research_group,
        class_a=class_a,
        class_b=class_b,
        class_other=class_other,
        child=child,
        users={},
    )
    for username, (role, unit_attr) in ROLE_USERS.items():
        user = UserFactory(username=username, full_name=f"{username}用户", mobile=None)
        RoleAssignmentFactory(user=user, role=role, org_unit=getattr(w, unit_attr))
        w.users[username] = user
    GuardianshipFactory(
        student=child, guardian=GuardianFactory(name="张大明", user=w.users["parent"])
    )
    return w


@pytest.fixture
def client_for(world: World) -> Callable[[str], Client]:
    """Return a logged-in test client for one of the world's users, by username."""

    def make(username: str) -> Client:
        client = Client()
        client.force_login(
            world.users[username], backend="xiaowu.accounts.backends.UsernameOrMobileBackend"
        )
        session = client.session
        session[SESSION_LOGIN_AT] = time.time()
        session.save()
        return client

    return make
