from __future__ import annotations

from datetime import date

import factory
from factory.django import DjangoModelFactory

from xiaowu.accounts.tests.factories import UserFactory
from xiaowu.core.models import Gender
from xiaowu.core.pinyin import pinyin_keys
from xiaowu.org.tests.factories import SchoolClassFactory
from xiaowu.students.models import (
    ClassMembership,
    Guardian,
    GuardianRelation,
    Guardianship,
    Student,
)


class StudentFactory(DjangoModelFactory[Student]):
    class Meta:
        model = Student
        skip_postgeneration_save = True

    school_class = factory.SubFactory(SchoolClassFactory)
    school = factory.LazyAttribute(lambda o: o.school_class.school)
    name = factory.Sequence(lambda n: f"学生{n}")
    gender = Gender.MALE
    name_pinyin = factory.LazyAttribute(lambda o: pinyin_keys(o.name)[0])
    name_initials = factory.LazyAttribute(lambda o: pinyin_keys(o.name)[1])
    enrolled_on = date(2024, 9, 1)

    @factory.post_generation  # type: ignore[untyped-decorator]
    def membership(self, create: bool, extracted: object, **kwargs: object) -> None:
        """Give every student created in a class the open class membership a service would."""
        if create and self.school_class_id and self.status == "enrolled":
            ClassMembership.objects.create(
                student=self,
                school_id=self.school_id,
                school_class_id=self.school_class_id,
                start_on=self.enrolled_on,
            )


class GuardianFactory(DjangoModelFactory[Guardian]):
    class Meta:
        model = Guardian

    name = factory.Sequence(lambda n: f"家长{n}")
    mobile = factory.Sequence(lambda n: f"1390000{n:04d}")
    user = factory.SubFactory(UserFactory)


class GuardianshipFactory(DjangoModelFactory[Guardianship]):
    class Meta:
        model = Guardianship

    student = factory.SubFactory(StudentFactory)
    guardian = factory.SubFactory(GuardianFactory)
    relation = GuardianRelation.MOTHER
