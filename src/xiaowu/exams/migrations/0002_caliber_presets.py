"""Ship the preset 口径 (``xiaowu.exams.presets.PRESETS_V1``) as data rows without an owner."""

from django.db import migrations

from xiaowu.exams.presets import PRESETS_V1


def add_presets(apps, schema_editor):
    caliber = apps.get_model("exams", "Caliber")
    for row in PRESETS_V1:
        caliber.objects.get_or_create(
            code=row["code"],
            version=1,
            defaults={
                "name": row["name"],
                "description": row["description"],
                "config": row["config"],
                "owner": None,
            },
        )


def remove_presets(apps, schema_editor):
    caliber = apps.get_model("exams", "Caliber")
    caliber.objects.filter(
        owner__isnull=True, version=1, code__in=[row["code"] for row in PRESETS_V1]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("exams", "0001_initial")]

    operations = [migrations.RunPython(add_presets, remove_presets)]
