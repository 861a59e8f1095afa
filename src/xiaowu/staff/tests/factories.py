from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from xiaowu.core.models import Gender
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.org.tests.factories import SchoolFactory
from xiaowu.staff.models import PostCategory, StaffMember


class StaffMemberFactory(DjangoModelFactory[StaffMember]):
    class Meta:
        model = StaffMember

    org_unit = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"教师{n}")
    gender = Gender.FEMALE
    post_category = PostCategory.FULL_TIME_TEACHER
    name_pinyin = factory.LazyAttribute(lambda o: pinyin_keys(o.name)[0])
    name_initials = factory.LazyAttribute(lambda o: pinyin_keys(o.name)[1])
