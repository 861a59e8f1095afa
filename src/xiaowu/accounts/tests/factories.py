from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from xiaowu.accounts.models import RoleAssignment, User
from xiaowu.accounts.roles import Role
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.org.tests.factories import SchoolFactory

TEST_PASSWORD = "test-pass-2025!"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"测试用户{n}")
    name_pinyin = factory.LazyAttribute(lambda o: pinyin_keys(o.full_name)[0])
    name_initials = factory.LazyAttribute(lambda o: pinyin_keys(o.full_name)[1])
    password = factory.django.Password(TEST_PASSWORD)


class RoleAssignmentFactory(DjangoModelFactory[RoleAssignment]):
    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    role = Role.PRINCIPAL
    org_unit = factory.SubFactory(SchoolFactory)
