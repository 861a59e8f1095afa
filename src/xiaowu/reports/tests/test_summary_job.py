"""后台生成: a summary's Word file written by the worker, the same as the download button."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from docx import Document

from xiaowu.jobs.models import Job, JobStatus
from xiaowu.jobs.services import job_enqueue
from xiaowu.jobs.worker import jobs_run_pending
from xiaowu.reports import jobs as summary_jobs
from xiaowu.reports.period import school_year_period
from xiaowu.reports.services import summary_template_upload, work_summary_create
from xiaowu.reports.tests.test_school_templates import make_template

pytestmark = pytest.mark.django_db


def _summary(world, unit=None, user="district"):
    return work_summary_create(
        actor=world.users[user],
        unit=unit or world.district,
        period=school_year_period("2025-2026", 1),
    )


def _paragraphs(data: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(data)).paragraphs]


def test_button_queues_a_job_that_writes_the_docx(world, client_for):
    summary = _summary(world)
    client = client_for("district")

    response = client.post(reverse("reports:summary_job_create", args=[summary.pk]))

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert (job.kind, job.unit, job.status) == ("reports.summary", world.district, "queued")
    assert job.params == {"summary_id": summary.pk}

    jobs_run_pending()

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.result_filename == f"{summary.title}.docx"
    assert job.result is not None
    assert job.result["data"]["schools"] == 2  # 青石小学 and 青石中学
    assert "（2 所学校）" in job.result_message
    download = client.get(reverse("jobs:download", args=[job.pk]))
    data = b"".join(download.streaming_content)
    assert download["Content-Type"] == summary_jobs.DOCX_TYPE
    assert zipfile.is_zipfile(io.BytesIO(data))
    synchronous = client.get(reverse("reports:summary_docx", args=[summary.pk])).content
    assert _paragraphs(data) == _paragraphs(synchronous)  # the same document
    assert summary.title in _paragraphs(data)[0].replace("\n", "")  # the title may wrap
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert reverse("reports:summary_detail", args=[summary.pk]) in page  # 查看工作总结


def test_summary_detail_page_has_the_button(world, client_for):
    summary = _summary(world)

    html = client_for("district").get(reverse("reports:summary_detail", args=[summary.pk]))

    assert reverse("reports:summary_job_create", args=[summary.pk]) in html.content.decode()
    assert "后台生成" in html.content.decode()


def test_summary_job_checks_the_summary_permission(world):
    summary = _summary(world)

    with pytest.raises(PermissionDenied, match="不存在，或不在您的权限范围内"):
        job_enqueue(
            actor=world.users["principal2"],
            kind=summary_jobs.KIND,
            unit=world.other_school,  # in principal2's scope, but the summary is not
            params=summary_jobs.job_params(summary),
            title="x",
        )
    with pytest.raises(PermissionDenied, match="没有查看该单位工作总结的权限"):
        job_enqueue(
            actor=world.users["teacher"],  # sees the district's summary? no: the school's
            kind=summary_jobs.KIND,
            unit=world.school,
            params=summary_jobs.job_params(_summary(world, unit=world.school)),
            title="x",
        )


def test_a_summary_deleted_before_the_job_runs_fails_clearly(world, client_for):
    summary = _summary(world)
    client_for("district").post(reverse("reports:summary_job_create", args=[summary.pk]))
    summary.delete()

    jobs_run_pending()

    job = Job.objects.get()
    assert job.status == JobStatus.FAILED
    assert "该工作总结不存在" in job.error


def test_a_second_click_reuses_the_queued_job(world, client_for):
    summary = _summary(world)
    client = client_for("district")
    url = reverse("reports:summary_job_create", args=[summary.pk])

    first = client.post(url)
    second = client.post(url)

    assert first["Location"] == second["Location"]
    assert Job.objects.count() == 1


def test_background_job_with_a_unit_template(world, client_for):
    template = summary_template_upload(
        actor=world.users["bureau"],
        unit=world.bureau,
        name="教育局统一格式",
        filename="统一.docx",
        data=make_template("{{ title }}"),
    )
    summary = _summary(world)
    client = client_for("district")
    page = client.get(reverse("reports:summary_detail", args=[summary.pk])).content.decode()
    assert "模板：教育局统一格式" in page  # offered in the 后台生成 choice

    response = client.post(
        reverse("reports:summary_job_create", args=[summary.pk]), {"template": template.pk}
    )

    job = Job.objects.get()
    assert response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert job.params == {"summary_id": summary.pk, "template_id": template.pk}
    assert "教育局统一格式" in job.title
    jobs_run_pending()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result_filename == f"{summary.title}（教育局统一格式）.docx"
    data = b"".join(client.get(reverse("jobs:download", args=[job.pk])).streaming_content)
    synchronous = client.get(
        reverse("reports:summary_docx", args=[summary.pk]), {"template": template.pk}
    ).content
    assert _paragraphs(data) == _paragraphs(synchronous)  # the template's layout, not 公文
    assert _paragraphs(data) != _paragraphs(
        client.get(reverse("reports:summary_docx", args=[summary.pk])).content
    )


def test_background_job_refuses_a_template_of_another_unit(world, client_for):
    other = summary_template_upload(
        actor=world.users["principal2"],
        unit=world.other_school,
        name="白河格式",
        filename="白河.docx",
        data=make_template("{{ title }}"),
    )
    summary = _summary(world)

    response = client_for("district").post(
        reverse("reports:summary_job_create", args=[summary.pk]),
        {"template": other.pk},
        follow=True,
    )

    assert not Job.objects.exists()
    assert "所选模板不能用于该工作总结" in response.content.decode()
    with pytest.raises(ValidationError, match="所选模板不能用于该工作总结"):
        job_enqueue(
            actor=world.users["district"],
            kind=summary_jobs.KIND,
            unit=world.district,
            params={"summary_id": summary.pk, "template_id": other.pk},
            title="x",
        )
