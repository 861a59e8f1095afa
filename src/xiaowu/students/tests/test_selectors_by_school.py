"""status_change_counts_by_school: the 异动 of a period per school in one grouped query, in the
same aggregate scope as status_change_counts (so the schools add up to its totals)."""

from __future__ import annotations

from datetime import date

import pytest

from xiaowu.accounts.scoping import scope_for
from xiaowu.org.tests.factories import SchoolClassFactory, SchoolFactory
from xiaowu.students.models import StatusChangeKind
from xiaowu.students.selectors import status_change_counts, status_change_counts_by_school
from xiaowu.students.services import status_change_record
from xiaowu.students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db
K = StatusChangeKind
START, END = date(2025, 9, 1), date(2026, 1, 31)


def record(world, student, kind, on):
    status_change_record(actor=world.users["admin"], student=student, kind=kind, effective_on=on)


@pytest.fixture
def events(world):
    """Dropouts and suspensions in both 学区, one dropout before the period."""
    third = SchoolFactory(code="S4", name="青石二小", parent=world.district)
    third_class = SchoolClassFactory(code="S4-C101", grade=1, class_number=1, parent=third)
    pupils = [StudentFactory(school_class=third_class, name=f"二小学生{n}") for n in range(4)]
    record(world, world.child, K.DROPOUT, date(2025, 10, 10))
    record(world, pupils[0], K.DROPOUT, date(2025, 8, 31))  # before the period
    record(world, pupils[1], K.DROPOUT, date(2025, 9, 1))
    record(world, pupils[2], K.DROPOUT, date(2026, 1, 31))
    record(world, pupils[3], K.SUSPENSION, date(2025, 11, 1))
    other = StudentFactory(school_class=world.class_other, name="白河学生")
    record(world, other, K.DROPOUT, date(2025, 12, 1))
    world.third = third
    return world


def test_counts_each_school_in_one_query(events, django_assert_num_queries):
    w = events
    scope_for(w.users["admin"])  # the actor's scope is read once per user, and cached
    with django_assert_num_queries(1):
        dropouts = status_change_counts_by_school(
            actor=w.users["admin"], kinds=[K.DROPOUT], start_on=START, end_on=END
        )
    assert dropouts == {w.school.pk: 1, w.third.pk: 2, w.other_school.pk: 1}
    both = status_change_counts_by_school(
        actor=w.users["admin"], kinds=[K.DROPOUT, K.SUSPENSION], start_on=START, end_on=END
    )
    assert both == {w.school.pk: 1, w.third.pk: 3, w.other_school.pk: 1}


def test_follows_the_aggregate_scope_and_the_root(events):
    w = events
    district = status_change_counts_by_school(
        actor=w.users["district"], kinds=[K.DROPOUT], start_on=START, end_on=END
    )
    assert district == {w.school.pk: 1, w.third.pk: 2}  # not 白河小学 of the other 学区
    under_school = status_change_counts_by_school(
        actor=w.users["bureau"],
        kinds=[K.DROPOUT],
        start_on=START,
        end_on=END,
        root_id=w.third.pk,
    )
    assert under_school == {w.third.pk: 2}
    # a root outside the actor's scope counts nothing
    outside = status_change_counts_by_school(
        actor=w.users["principal"],
        kinds=[K.DROPOUT],
        start_on=START,
        end_on=END,
        root_id=w.other_school.pk,
    )
    assert outside == {}


@pytest.mark.parametrize("username", ["admin", "bureau", "district", "principal", "teacher"])
def test_adds_up_to_status_change_counts(events, username):
    w = events
    actor = w.users[username]
    for root in (None, w.district.pk, w.bureau.pk):
        grouped = status_change_counts_by_school(
            actor=actor, kinds=[K.DROPOUT], start_on=START, end_on=END, root_id=root
        )
        totals = status_change_counts(actor=actor, start_on=START, end_on=END, root_id=root)
        assert sum(grouped.values()) == totals.get(K.DROPOUT, 0)
        for school_id, n in grouped.items():
            per_school = status_change_counts(
                actor=actor, start_on=START, end_on=END, root_id=school_id
            )
            assert per_school[K.DROPOUT] == n
