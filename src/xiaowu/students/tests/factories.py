from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from xiaowu.accounts.tests.factories import UserFactory
from xiaowu.core.models import Gender
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.org.tests.factories import SchoolClassFactory
from xiaowu.students.models import GuardianRelation, Guardianship, Student


class StudentFactory(DjangoModelFactory[Student]):
    class Meta:
        model = Student

    school_class = factory.SubFactory(SchoolClassFactory)
    school = factory.LazyAttribute(lambda o: o.school_class.school)
    name = factory.Sequence(lambda n: f"学生{n}")
    gender = Gender.MALE
    name_pinyin = factory.LazyAttribute(lambda o: pinyin_keys(o.name)[0])
    name_initials = factory.LazyAttribute(lambda o: pinyin_keys(o.name)[1])


class GuardianshipFactory(DjangoModelFactory[Guardianship]):
    class Meta:
        model = Guardianship

    student = factory.SubFactory(StudentFactory)
    guardian = factory.SubFactory(UserFactory)
    relation = GuardianRelation.MOTHER
