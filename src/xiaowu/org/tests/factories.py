from __future__ import annotations

from datetime import date

import factory
from factory.django import DjangoModelFactory

from xiaowu.core.pinyin import pinyin_keys
from xiaowu.org.models import OrgUnit, SchoolType, SchoolYear, Term, UnitKind
from xiaowu.org.services import closure_add


class OrgUnitFactory(DjangoModelFactory[OrgUnit]):
    """Build a unit and its closure rows (as the service does, without permission or audit)."""

    class Meta:
        model = OrgUnit

    code = factory.Sequence(lambda n: f"U{n:05d}")
    name = factory.Sequence(lambda n: f"机构{n}")
    kind = UnitKind.BUREAU
    parent = None

    @classmethod
    def _create(cls, model_class: type[OrgUnit], *args: object, **kwargs: object) -> OrgUnit:
        parent = kwargs.get("parent")
        kind = kwargs.get("kind")
        if isinstance(parent, OrgUnit):
            kwargs["depth"] = parent.depth + 1
            if kind != UnitKind.SCHOOL:
                kwargs["school"] = parent if parent.kind == UnitKind.SCHOOL else parent.school
        kwargs["name_pinyin"], kwargs["name_initials"] = pinyin_keys(str(kwargs["name"]))
        unit = model_class.objects.create(*args, **kwargs)
        if kind == UnitKind.SCHOOL:
            unit.school = unit
            unit.save(update_fields=["school"])
        closure_add(unit)
        return unit


class BureauFactory(OrgUnitFactory):
    kind = UnitKind.BUREAU
    name = factory.Sequence(lambda n: f"第{n}教育局")


class DistrictFactory(OrgUnitFactory):
    kind = UnitKind.SCHOOL_DISTRICT
    name = factory.Sequence(lambda n: f"第{n}学区")
    parent = factory.SubFactory(BureauFactory)


class SchoolFactory(OrgUnitFactory):
    kind = UnitKind.SCHOOL
    name = factory.Sequence(lambda n: f"第{n}小学")
    school_type = SchoolType.COMPLETE_PRIMARY
    parent = factory.SubFactory(DistrictFactory)


class SchoolClassFactory(OrgUnitFactory):
    kind = UnitKind.SCHOOL_CLASS
    grade = 1
    class_number = factory.Sequence(lambda n: n % 90 + 1)
    name = factory.LazyAttribute(lambda o: f"{o.grade}年级({o.class_number})班-{o.code}")
    parent = factory.SubFactory(SchoolFactory)


class SchoolYearFactory(DjangoModelFactory[SchoolYear]):
    class Meta:
        model = SchoolYear
        django_get_or_create = ("name",)

    name = "2025-2026"
    start_on = date(2025, 9, 1)
    end_on = date(2026, 8, 31)


class TermFactory(DjangoModelFactory[Term]):
    class Meta:
        model = Term

    school_year = factory.SubFactory(SchoolYearFactory)
    number = 1
    start_on = date(2025, 9, 1)
    end_on = date(2026, 1, 20)
