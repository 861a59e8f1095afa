"""Ship the 新高考 模拟赋分 preset 口径 (``xiaowu.exams.presets.PRESETS_V2``)."""

from django.db import migrations

from xiaowu.exams.presets import PRESETS_V2


def add_presets(apps, schema_editor):
    caliber = apps.get_model("exams", "Caliber")
    for row in PRESETS_V2:
        caliber.objects.get_or_create(
            code=row["code"],
            version=1,
            owner=None,
            defaults={
                "name": row["name"],
                "description": row["description"],
                "config": row["config"],
            },
        )


def remove_presets(apps, schema_editor):
    caliber = apps.get_model("exams", "Caliber")
    caliber.objects.filter(
        owner__isnull=True, version=1, code__in=[row["code"] for row in PRESETS_V2]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("exams", "0003_exam_name_pinyin")]

    operations = [migrations.RunPython(add_presets, remove_presets)]
