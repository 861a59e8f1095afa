"""口径: the shipped presets, creating a unit's own 口径, revising into new versions (old ones
kept), who may do it, and the structured form that builds the configuration."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import World
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client
from django.urls import reverse

from xiaowu.audit.models import AuditEvent
from xiaowu.exams.analytics.caliber import CaliberSpec
from xiaowu.exams.forms import CaliberForm
from xiaowu.exams.models import Caliber
from xiaowu.exams.presets import PRESETS_V1, PRESETS_V2
from xiaowu.exams.selectors import caliber_get, caliber_list, caliber_versions
from xiaowu.exams.services import caliber_create, caliber_revise

pytestmark = pytest.mark.django_db


def _preset(code: str) -> Caliber:
    return Caliber.objects.get(code=code, owner__isnull=True, version=1)


def test_presets_are_shipped_by_the_migration_and_valid() -> None:
    stored = {c.code: c for c in Caliber.objects.filter(owner__isnull=True)}
    assert sorted(stored) == sorted(row["code"] for row in (*PRESETS_V1, *PRESETS_V2))
    assert len(stored) == 9
    for row in (*PRESETS_V1, *PRESETS_V2):
        spec = CaliberSpec.from_config(stored[row["code"]].config)
        assert spec.to_config() == CaliberSpec.from_config(row["config"]).to_config()
    assert CaliberSpec.from_config(_preset("primary-85").config).thresholds.excellent == 0.85
    weighted = CaliberSpec.from_config(_preset("county-weighted").config).composite
    assert weighted is not None
    assert (weighted.family, weighted.weight("mean"), weighted.weight("pass")) == (
        "weighted",
        0.4,
        0.3,
    )
    best = CaliberSpec.from_config(_preset("relative-best").config).composite
    assert best is not None
    assert dict(best.weights) == {"mean": 60.0, "excellent": 70.0, "pass": 70.0}
    nine = CaliberSpec.from_config(_preset("relative-best-g9").config).composite
    assert nine is not None
    assert dict(nine.weights) == {"mean": 50.0, "excellent": 80.0, "pass": 50.0}
    gaokao = CaliberSpec.from_config(_preset("gaokao-312-assigned").config).assigned_scores
    assert gaokao is not None
    assert (gaokao.scheme, gaokao.subjects) == ("3+1+2", ("化学", "生物", "政治", "地理"))
    line = CaliberSpec.from_config(_preset("senior-line").config)
    assert [(x.name, x.total) for x in line.lines] == [("普高线", 520.0)]
    general = CaliberSpec.from_config(_preset("general").config)
    assert dict(general.subject_sets) == {
        "双合": ("语文", "数学"),
        "三合": ("语文", "数学", "英语"),
        "全科": None,
    }


def test_a_unit_creates_and_revises_its_own_caliber(world: World) -> None:
    principal = world.users["principal"]
    base = CaliberSpec.from_config(_preset("general").config).to_config()
    # when
    first = caliber_create(
        actor=principal,
        owner=world.school,
        name="青石小学口径",
        config={**base, "thresholds": {"excellent": 0.9}},
    )
    second = caliber_revise(
        actor=principal,
        caliber=first,
        name="青石小学口径（2025修订）",
        config={**first.config, "denominator": "expected"},
    )
    # then
    first.refresh_from_db()
    assert (first.code, first.version, first.config["denominator"]) == ("s1-1", 1, "sat")
    assert first.config["thresholds"] == {"excellent": 0.9, "good": 0.7, "pass": 0.6, "low": 0.4}
    assert (second.code, second.version, second.previous, second.owner) == (
        "s1-1",
        2,
        first,
        world.school,
    )
    assert second.config["denominator"] == "expected"
    assert [c.version for c in caliber_versions(caliber=first)] == [2, 1]
    assert list(caliber_list(actor=principal).filter(owner=world.school)) == [second]
    with pytest.raises(ValidationError, match="已有更新的版本"):
        caliber_revise(actor=principal, caliber=first, name="旧版再改", config=first.config)
    assert list(
        AuditEvent.objects.filter(event__startswith="exams.caliber")
        .order_by("id")
        .values_list("event", flat=True)
    ) == ["exams.caliber_create", "exams.caliber_revise"]


def test_invalid_configuration_is_refused_naming_the_field(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        caliber_create(
            actor=world.users["principal"],
            owner=world.school,
            name="坏口径",
            config={"thresholds": {"pass": 0.9, "excellent": 0.8}},
        )
    assert caught.value.message_dict == {
        "config": ["口径字段 thresholds 应满足 低分线 ≤ 及格线 ≤ 良好线 ≤ 优秀线"]
    }
    assert Caliber.objects.filter(owner__isnull=False).count() == 0


def test_who_may_create_and_revise(world: World) -> None:
    general = _preset("general")
    with pytest.raises(PermissionDenied):
        caliber_create(actor=world.users["teacher"], owner=world.school, name="x", config={})
    with pytest.raises(PermissionDenied):
        caliber_create(actor=world.users["principal2"], owner=world.school, name="x", config={})
    with pytest.raises(PermissionDenied):
        caliber_revise(actor=world.users["principal"], caliber=general, name="x", config={})
    revised = caliber_revise(
        actor=world.users["admin"], caliber=general, name=general.name, config=general.config
    )
    assert (revised.owner, revised.version, revised.code) == (None, 2, "general")


def test_a_schools_caliber_is_seen_below_and_above_it_not_beside(world: World) -> None:
    own = caliber_create(actor=world.users["principal"], owner=world.school, name="本校", config={})
    district = caliber_create(
        actor=world.users["district"], owner=world.district, name="学区", config={}
    )
    assert caliber_get(actor=world.users["teacher"], caliber_id=own.pk) == own
    assert caliber_get(actor=world.users["principal"], caliber_id=district.pk) == district
    assert caliber_get(actor=world.users["district"], caliber_id=own.pk) == own
    with pytest.raises(Http404):
        caliber_get(actor=world.users["principal2"], caliber_id=own.pk)
    with pytest.raises(Http404):
        caliber_get(actor=world.users["principal2"], caliber_id=district.pk)


# --------------------------------------------------------------------------- the form
def _form_data(**changes: Any) -> dict[str, Any]:
    initial = CaliberForm.initial_from(_preset("general"))
    data = {key: value for key, value in initial.items() if value is not None}
    data["owner"] = ""
    data.update(changes)
    return data


def test_form_round_trips_a_preset() -> None:
    for row in (*PRESETS_V1, *PRESETS_V2):
        caliber = _preset(row["code"])
        initial = CaliberForm.initial_from(caliber)
        data = {key: value for key, value in initial.items() if value is not None}
        form = CaliberForm(data=data)
        assert form.is_valid(), (row["code"], form.errors)
        assert form.config == CaliberSpec.from_config(caliber.config).to_config(), row["code"]


def test_form_builds_the_config_from_structured_fields() -> None:
    form = CaliberForm(
        data=_form_data(
            excellent="85",
            pass_line="60",
            denominator="expected",
            excluded_statuses=["absent"],
            cheated="zero",
            subject_sets="双合=语文、数学\n全科=*",
            total_subjects="语文 数学 英语",
            tie_break="数学，语文",
            composite_family="relative_best",
            w_mean="50",
            w_excellent="80",
            w_pass="50",
            lines="普高线=520\n重点线＝600",
            advanced='{"band_widths": {"语文": 15}}',
        )
    )
    assert form.is_valid(), form.errors
    config = form.config
    assert config["thresholds"] == {"excellent": 0.85, "good": 0.7, "pass": 0.6, "low": 0.4}
    assert (config["denominator"], config["excluded_statuses"], config["cheated"]) == (
        "expected",
        ["absent"],
        "zero",
    )
    assert config["subject_sets"] == {"双合": ["语文", "数学"], "全科": "*"}
    assert config["total_subjects"] == ["语文", "数学", "英语"]
    assert config["tie_break"] == ["数学", "语文"]
    assert config["composite"] == {
        "family": "relative_best",
        "weights": {"mean": 50.0, "pass": 50.0, "excellent": 80.0},
    }
    assert config["lines"] == [
        {"name": "普高线", "total": 520.0},
        {"name": "重点线", "total": 600.0},
    ]
    assert config["band_widths"] == {"语文": 15.0}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"pass_line": "90"},
            "excellent",
            "口径字段 thresholds 应满足 低分线 ≤ 及格线 ≤ 良好线 ≤ 优秀线",
        ),
        ({"lines": "普高线"}, "lines", "第 1 行“普高线”应写成“名称=内容”。"),
        ({"lines": "普高线=高"}, "lines", "“普高线”的分数“高”不是数字。"),
        ({"advanced": "{oops"}, "advanced", "JSON 格式有误（第 1 行第 2 列）。"),
        (
            {"advanced": '{"ranking": "dense"}'},
            "advanced",
            "ranking 请在上面的表单中设置，不要写在 JSON 里。",
        ),
        ({"advanced": '{"colour": 1}'}, "advanced", "口径字段 colour 不是可识别的口径字段"),
        (
            {"composite_family": "weighted", "w_mean": "0", "w_pass": "0", "w_excellent": "0"},
            "composite_family",
            "口径字段 composite.weights 至少要有一个大于 0 的权重",
        ),
    ],
)
def test_form_errors_land_on_their_field(changes: dict[str, str], field: str, message: str) -> None:
    form = CaliberForm(data=_form_data(**changes))
    assert not form.is_valid()
    assert form.errors[field] == [message]


def test_caliber_pages_create_and_revise(world: World, client_for: Callable[[str], Client]) -> None:
    client = client_for("principal")
    create = reverse("exams:caliber_create") + f"?from={_preset('primary-85').pk}"
    page = client.get(create)
    assert page.status_code == 200
    assert page.context["form"].initial["excellent"] == "85"
    data = _form_data(owner=str(world.school.pk), name="青石小学口径", excellent="90")
    response = client.post(create, data)
    assert response.status_code == 302
    created = Caliber.objects.get(owner=world.school)
    assert created.config["thresholds"]["excellent"] == 0.9
    edit = reverse("exams:caliber_edit", kwargs={"caliber_id": created.pk})
    response = client.post(edit, {**data, "name": "青石小学口径（二）", "excellent": "88"})
    revised = Caliber.objects.get(owner=world.school, version=2)
    assert response["Location"] == reverse(
        "exams:caliber_detail", kwargs={"caliber_id": revised.pk}
    )
    assert revised.config["thresholds"]["excellent"] == 0.88
    detail = client.get(reverse("exams:caliber_detail", kwargs={"caliber_id": created.pk}))
    assert "这是历史版本" in detail.content.decode()
    # editing an old version goes to the latest one
    old_edit = client.get(edit)
    assert old_edit["Location"] == reverse("exams:caliber_edit", kwargs={"caliber_id": revised.pk})


def test_assigned_scores_go_through_the_json_editor_and_show_on_the_page(
    world: World, client_for: Callable[[str], Client]
) -> None:
    assigned = {"scheme": "3+1+2", "subjects": ["化学", "生物"], "boundary": "upper"}
    form = CaliberForm(data=_form_data(advanced=json.dumps({"assigned_scores": assigned})))
    assert form.is_valid(), form.errors
    assert form.config["assigned_scores"] == {**assigned, "equal_band": "top"}
    bad = CaliberForm(
        data=_form_data(advanced='{"assigned_scores": {"scheme": "hainan", "subjects": ["化学"]}}')
    )
    assert not bad.is_valid()
    assert bad.errors["advanced"][0].startswith("口径字段 assigned_scores.scheme 应为")
    caliber = caliber_create(
        actor=world.users["principal"], owner=world.school, name="赋分口径", config=form.config
    )
    again = CaliberForm.initial_from(caliber)
    assert json.loads(again["advanced"])["assigned_scores"] == form.config["assigned_scores"]
    page = client_for("principal").get(
        reverse("exams:caliber_detail", kwargs={"caliber_id": caliber.pk})
    )
    text = page.content.decode()
    assert "3+1+2 再选科目（A/B/C/D/E，15/35/35/13/2%）：化学、生物" in text
    assert "累计比例不低于" in text
    preset = client_for("principal").get(
        reverse("exams:caliber_detail", kwargs={"caliber_id": _preset("general").pk})
    )
    assert 'id="caliber-assigned">不赋分<' in preset.content.decode()
