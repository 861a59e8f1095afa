"""staff_honours_awarded: the honours of some levels awarded in a period to staff the actor may
see, under a unit, in one query however many schools they are in."""

from __future__ import annotations

from datetime import date

import pytest

from xiaowu.accounts.scoping import scope_for
from xiaowu.org.tests.factories import SchoolFactory
from xiaowu.staff.models import HonourLevel, HonourTitle, StaffHonour
from xiaowu.staff.selectors import AwardedHonour, staff_honours_awarded
from xiaowu.staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db
L = HonourLevel
HIGH = (L.NATIONAL, L.PROVINCE, L.CITY)
START, END = date(2025, 9, 1), date(2026, 1, 31)


def honour(staff, level, on, title=HonourTitle.KEY_TEACHER, title_text=""):
    return StaffHonour.objects.create(
        staff=staff, title=title, level=level, awarded_on=on, title_text=title_text
    )


def awarded(world, username="district", root=None, levels=HIGH):
    return staff_honours_awarded(
        actor=world.users[username],
        levels=levels,
        start_on=START,
        end_on=END,
        root_id=root.pk if root is not None else None,
    )


def test_lists_the_honours_in_the_period_and_levels_oldest_first(world):
    wang = StaffMemberFactory(org_unit=world.school, name="王丽")
    li = StaffMemberFactory(org_unit=world.school_b, name="李强")
    clerk = StaffMemberFactory(org_unit=world.district, name="学区教研员")
    honour(wang, L.PROVINCE, date(2025, 11, 3))
    honour(li, L.CITY, date(2025, 12, 20), HonourTitle.SUBJECT_LEADER)
    honour(li, L.CITY, date(2025, 9, 1), title_text="淄博市教学能手")  # first day counts
    honour(clerk, L.NATIONAL, date(2026, 1, 31))  # last day counts
    honour(wang, L.COUNTY, date(2025, 10, 1))  # below 市级
    honour(li, L.NATIONAL, date(2025, 8, 31))  # before the period
    assert awarded(world, root=world.district) == [
        AwardedHonour("李强", "青石中学", L.CITY, HonourTitle.KEY_TEACHER, "淄博市教学能手", START),
        AwardedHonour(
            "王丽", "青石小学", L.PROVINCE, HonourTitle.KEY_TEACHER, "", date(2025, 11, 3)
        ),
        AwardedHonour(
            "李强", "青石中学", L.CITY, HonourTitle.SUBJECT_LEADER, "", date(2025, 12, 20)
        ),
        AwardedHonour("学区教研员", None, L.NATIONAL, HonourTitle.KEY_TEACHER, "", END),
    ]
    assert [h.staff_name for h in awarded(world, root=world.school)] == ["王丽"]
    county = awarded(world, root=world.school, levels=[L.COUNTY])
    assert [(h.staff_name, h.level) for h in county] == [("王丽", L.COUNTY)]


def test_follows_the_staff_scope(world):
    mine = StaffMemberFactory(org_unit=world.school, name="王丽")
    theirs = StaffMemberFactory(org_unit=world.other_school, name="赵敏")
    honour(mine, L.CITY, date(2025, 10, 1))
    honour(theirs, L.CITY, date(2025, 10, 1))
    assert [h.staff_name for h in awarded(world, "district")] == ["王丽"]
    assert [h.staff_name for h in awarded(world, "bureau", root=world.bureau)] == ["王丽", "赵敏"]
    # another 学区 under the actor's own root: nothing
    assert awarded(world, "district", root=world.other_district) == []
    # a 家长 sees no staff at all
    assert awarded(world, "parent") == []


def test_one_query_however_many_schools(world, django_assert_num_queries):
    for n in range(6):
        school = SchoolFactory(code=f"SH{n}", name=f"荣誉{n}小学", parent=world.district)
        honour(StaffMemberFactory(org_unit=school, name=f"教师{n}"), L.CITY, date(2025, 10, n + 1))
    scope_for(world.users["district"])  # the actor's scope is read once per user, and cached
    with django_assert_num_queries(1):
        found = awarded(world, root=world.district)
    assert [h.school_name for h in found] == [f"荣誉{n}小学" for n in range(6)]
