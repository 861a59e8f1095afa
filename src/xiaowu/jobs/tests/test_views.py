"""The job pages: list, detail with its HTMX-polled progress panel, cancel and download."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.urls import reverse

from xiaowu.audit.models import AuditAction, AuditEvent
from xiaowu.jobs.models import Job, JobStatus
from xiaowu.jobs.services import job_enqueue
from xiaowu.jobs.worker import jobs_run_pending

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _job(world, sample_kind, user="principal", **params):
    return job_enqueue(
        actor=world.users[user],
        kind=sample_kind,
        unit=world.school,
        params=params,
        title="导出名单",
    )


def test_detail_of_an_active_job_polls_its_progress_panel(world, client_for, sample_kind):
    job = _job(world, sample_kind)

    response = client_for("principal").get(reverse("jobs:detail", args=[job.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    progress_url = reverse("jobs:progress", args=[job.pk])
    assert f'hx-get="{progress_url}" hx-trigger="every 2s"' in html
    assert "排队中" in html
    assert "等待开始" in html
    assert "<script>" not in html.replace('<script src="', "")  # no inline script (CSP)
    assert "取消任务" in html


def test_progress_partial_shows_the_bar_and_stops_polling_when_done(world, client_for, sample_kind):
    job = _job(world, sample_kind, steps=4)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, progress_done=1, progress_total=4, progress_message="第 2 步"
    )
    client = client_for("principal")
    url = reverse("jobs:progress", args=[job.pk])

    running = client.get(url, **HTMX)

    html = running.content.decode()
    assert running.status_code == 200
    assert 'style="width: 25%"' in html
    assert 'aria-valuenow="25"' in html
    assert "1 / 4" in html
    assert "第 2 步" in html
    assert "<html" not in html  # the panel only

    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    jobs_run_pending()
    finished = client.get(url, **HTMX)

    assert finished.status_code == 286  # htmx: stop polling (the panel is still swapped in)
    html = finished.content.decode()
    assert "已完成" in html
    assert reverse("jobs:download", args=[job.pk]) in html
    assert client.get(url).status_code == 200  # a plain request is a plain 200
    detail = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "hx-trigger" not in detail
    assert "返回首页" in detail  # the runner's link
    assert re.search(r"（用时 \d+\.\d 秒）", detail)


def test_failure_shows_a_clear_message(world, client_for, sample_kind):
    job = _job(world, sample_kind, mode="job_error")
    jobs_run_pending()

    html = client_for("principal").get(reverse("jobs:detail", args=[job.pk])).content.decode()

    assert "任务失败：" in html
    assert "数据不完整：第 3 行缺少姓名。" in html
    assert "bg-danger" in html


def test_download_sends_the_file_and_is_audited(world, client_for, sample_kind):
    job = _job(world, sample_kind)
    jobs_run_pending()

    response = client_for("principal").get(reverse("jobs:download", args=[job.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"hello"
    assert response["Content-Type"] == "text/plain"
    assert quote("结果.txt") in response["Content-Disposition"]
    event = AuditEvent.objects.get(event="jobs.result_download")
    assert event.action == AuditAction.EXPORT
    assert event.target_id == str(job.pk)


def test_another_users_job_is_404_everywhere(world, client_for, sample_kind):
    job = _job(world, sample_kind)
    jobs_run_pending()
    teacher = client_for("teacher")  # same school, not a leader

    for name in ("jobs:detail", "jobs:progress", "jobs:download"):
        assert teacher.get(reverse(name, args=[job.pk])).status_code == 404
    assert teacher.post(reverse("jobs:cancel", args=[job.pk])).status_code == 404
    assert client_for("principal2").get(reverse("jobs:detail", args=[job.pk])).status_code == 404


def test_download_checks_the_runners_permission_again(world, client_for, sample_kind):
    job = _job(world, sample_kind, user="district")
    jobs_run_pending()
    client = client_for("district")
    assert client.get(reverse("jobs:download", args=[job.pk])).status_code == 200

    # The district leader is replaced by a role that lacks the runner's staff.view.
    assignment = world.users["district"].role_assignments.get()
    assignment.role = "duty_week_teacher"
    assignment.org_unit = world.school
    assignment.save()
    client = client_for("district")

    assert client.get(reverse("jobs:detail", args=[job.pk])).status_code == 200  # own job
    assert client.get(reverse("jobs:download", args=[job.pk])).status_code == 403


def test_cancel_view(world, client_for, sample_kind):
    job = _job(world, sample_kind)
    client = client_for("principal")

    response = client.post(reverse("jobs:cancel", args=[job.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("jobs:detail", args=[job.pk])
    assert "任务已取消。" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    again = client.post(reverse("jobs:cancel", args=[job.pk]), follow=True)
    assert "无需取消" in again.content.decode()


def test_list_shows_own_jobs_and_leaders_can_see_their_units(world, client_for, sample_kind):
    mine = _job(world, sample_kind, user="district", steps=1)
    theirs = _job(world, sample_kind, user="principal", steps=2)

    own = client_for("district").get(reverse("jobs:list")).content.decode()
    everyone = client_for("district").get(reverse("jobs:list") + "?scope=all").content.decode()
    teacher = client_for("teacher").get(reverse("jobs:list") + "?scope=all").content.decode()

    link = re.compile(r'href="/jobs/(\d+)/"')
    assert set(map(int, link.findall(own))) == {mine.pk}
    assert set(map(int, link.findall(everyone))) == {mine.pk, theirs.pk}
    assert "principal用户" in everyone
    assert link.findall(teacher) == []  # not a leader: scope=all is ignored
    assert "我的任务" in own
    assert "测试任务" in own  # the kind's label
