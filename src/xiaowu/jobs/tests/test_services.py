"""Job lifecycle: enqueue → run in the worker path → progress → result; failures, cancel,
stale workers and scoping."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from xiaowu.accounts.models import RoleAssignment
from xiaowu.audit.models import AuditEvent
from xiaowu.jobs.execution import job_execute
from xiaowu.jobs.models import Job, JobStatus
from xiaowu.jobs.runner import JobCancelled, Progress
from xiaowu.jobs.selectors import job_list, job_stale_reason, job_waiting_notice
from xiaowu.jobs.services import (
    MAX_ACTIVE_PER_USER,
    job_cancel,
    job_enqueue,
    jobs_reap_stale,
    jobs_results_expire,
)
from xiaowu.jobs.watchdog import process_identity
from xiaowu.jobs.worker import jobs_run_pending
from xiaowu.org.models import OrgUnit, UnitKind

pytestmark = pytest.mark.django_db


def _enqueue(world, sample_kind, *, user="principal", unit=None, **params):
    return job_enqueue(
        actor=world.users[user],
        kind=sample_kind,
        unit=unit or world.school,
        params=params,
        title="测试任务",
    )


def test_lifecycle_enqueue_run_progress_result(world, sample_kind):
    job = _enqueue(world, sample_kind, steps=4)

    assert job.status == JobStatus.QUEUED
    task = DBTaskResult.objects.get(id=job.task_id)
    assert task.status == TaskResultStatus.READY
    assert task.args_kwargs == {"args": [job.pk], "kwargs": {}}
    assert AuditEvent.objects.filter(event="jobs.job_enqueue", target_id=str(job.pk)).exists()

    assert jobs_run_pending() == 1

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert (job.progress_done, job.progress_total, job.percent) == (4, 4, 100)
    assert job.result == {"data": {"steps": 4}, "links": [{"label": "返回首页", "url": "/"}]}
    assert job.result_message == "principal用户的测试任务已完成。"
    assert (job.result_filename, job.result_size) == ("结果.txt", 5)
    with job.result_file.open("rb") as handle:
        assert handle.read() == b"hello"
    assert job.started_at <= job.finished_at
    assert job.worker_pid is not None
    task.refresh_from_db()
    assert task.status == TaskResultStatus.SUCCESSFUL
    assert jobs_run_pending() == 0


def test_same_request_while_active_reuses_the_job(world, sample_kind):
    first = _enqueue(world, sample_kind, steps=2)
    again = _enqueue(world, sample_kind, steps=2)
    other = _enqueue(world, sample_kind, steps=3)

    assert again.pk == first.pk
    assert other.pk != first.pk
    jobs_run_pending()
    assert _enqueue(world, sample_kind, steps=2).pk != first.pk  # finished: a new run


def test_active_jobs_per_user_are_limited(world, sample_kind):
    for steps in range(MAX_ACTIVE_PER_USER):
        _enqueue(world, sample_kind, steps=steps)

    with pytest.raises(ValidationError, match="请等其完成后再提交"):
        _enqueue(world, sample_kind, steps=99)
    _enqueue(world, sample_kind, user="district", unit=world.district, steps=99)  # others may


def test_enqueue_refuses_bad_input_and_units_out_of_scope(world, sample_kind):
    with pytest.raises(ValidationError, match="由系统保留"):
        _enqueue(world, sample_kind, actor_id=1)
    with pytest.raises(ValidationError, match="未知的任务类型"):
        job_enqueue(
            actor=world.users["principal"], kind="nope", unit=world.school, params={}, title="x"
        )
    with pytest.raises(ValidationError, match="只能包含"):
        job_enqueue(
            actor=world.users["principal"],
            kind=sample_kind,
            unit=world.school,
            params={"when": timezone.now()},
            title="x",
        )
    with pytest.raises(PermissionDenied, match="不在您的权限范围内"):
        _enqueue(world, sample_kind, user="teacher2")  # another district's teacher
    with pytest.raises(PermissionDenied, match="不能在该单位运行测试任务"):
        _enqueue(world, sample_kind, user="duty")  # the runner's own check (staff.view)
    assert not Job.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_jobs_are_scoped_to_the_starter_and_the_units_leaders(world, sample_kind):
    job = _enqueue(world, sample_kind)

    def sees(user: str, *, mine_only: bool = False) -> bool:
        return job_list(actor=world.users[user], mine_only=mine_only).filter(pk=job.pk).exists()

    assert sees("principal", mine_only=True)
    assert all(sees(user) for user in ("admin", "bureau", "district", "principal"))
    assert not any(sees(user) for user in ("vice", "office", "teacher", "teacher2", "parent"))
    assert not sees("principal2")  # leader of another school
    assert not sees("district", mine_only=True)


def test_a_runner_error_fails_the_job_with_its_message(world, sample_kind):
    job = _enqueue(world, sample_kind, mode="job_error")

    jobs_run_pending()

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "数据不完整：第 3 行缺少姓名。"
    assert job.finished_at is not None
    assert job.progress_done == 2  # the progress it had made is kept


def test_an_unexpected_error_fails_the_job_and_keeps_the_traceback_for_admins(world, sample_kind):
    job = _enqueue(world, sample_kind, mode="crash")

    jobs_run_pending()

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert f"#{job.pk}" in job.error
    assert "boom" not in job.error  # no internals on the page
    task = DBTaskResult.objects.get(id=job.task_id)
    assert task.status == TaskResultStatus.FAILED
    assert "boom: internal detail" in task.traceback


def test_permission_is_checked_again_when_the_job_starts(world, sample_kind):
    job = _enqueue(world, sample_kind)
    RoleAssignment.objects.filter(user=world.users["principal"]).delete()

    jobs_run_pending()

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("权限不足，任务未执行")


def test_cancel_a_queued_job(world, sample_kind):
    job = _enqueue(world, sample_kind)

    cancelled = job_cancel(actor=world.users["principal"], job=job)

    assert cancelled.status == JobStatus.CANCELLED
    assert not DBTaskResult.objects.filter(id=job.task_id).exists()
    assert job_execute(job_id=job.pk) == JobStatus.CANCELLED  # a late task does not run it
    with pytest.raises(ValidationError, match="任务已结束"):
        job_cancel(actor=world.users["principal"], job=cancelled)


def test_cancel_is_for_the_starter_or_a_leader(world, sample_kind):
    job = _enqueue(world, sample_kind, user="office", unit=world.school)

    with pytest.raises(PermissionDenied):
        job_cancel(actor=world.users["vice"], job=job)
    assert job_cancel(actor=world.users["principal"], job=job).status == JobStatus.CANCELLED


def test_cancel_while_running_stops_at_the_next_progress_report(world, sample_kind):
    job = _enqueue(world, sample_kind, mode="cancel_midway", steps=5)

    jobs_run_pending()

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert job.error == "任务已按要求取消。"
    assert not job.result_file


def test_progress_writes_are_throttled():
    now = [0.0]
    progress = Progress(job_id=0, interval=1.0, clock=lambda: now[0])
    written: list[tuple[int, int]] = []
    progress._write = lambda: written.append((progress.done, progress.total))

    progress.update(0, 100, "开始")  # first: written
    for done in range(1, 50):
        now[0] += 0.01
        progress.update(done)
    assert written == [(0, 100)]
    now[0] += 1.0
    progress.update(60)
    progress.update(100)  # the end is always written
    assert written == [(0, 100), (60, 100), (100, 100)]
    progress.update(150)
    assert progress.done == 100  # clamped
    assert progress.writes == 4


def _running(job: Job, **fields: object) -> Job:
    fields = {"status": JobStatus.RUNNING, "started_at": timezone.now(), **fields}
    Job.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    return job


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_job_whose_worker_died_is_failed_not_left_running(world, sample_kind):
    host, _pid, _started = process_identity()
    job = _running(
        _enqueue(world, sample_kind),
        worker_host=host,
        worker_pid=_dead_pid(),
        worker_process_start=1,
        heartbeat_at=timezone.now(),  # fresh: the dead process is enough
    )
    DBTaskResult.objects.filter(id=job.task_id).update(status=TaskResultStatus.RUNNING)

    assert "意外退出" in job_stale_reason(job)
    assert jobs_reap_stale() == 1

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "意外退出" in job.error
    assert DBTaskResult.objects.get(id=job.task_id).status == TaskResultStatus.FAILED
    assert jobs_reap_stale() == 0


def test_a_live_worker_is_not_stale_even_without_recent_heartbeats(world, sample_kind):
    host, pid, started = process_identity()
    job = _running(
        _enqueue(world, sample_kind),
        worker_host=host,
        worker_pid=pid,
        worker_process_start=started,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )

    assert job_stale_reason(job) == ""
    # The same pid with another start time is another process (pid reuse).
    if started is not None:
        job.worker_process_start = started + 1
        assert "意外退出" in job_stale_reason(job)


def test_a_worker_on_another_host_is_stale_after_missed_heartbeats(world, sample_kind, settings):
    settings.XIAOWU_JOB_STALE_SECONDS = 120
    job = _running(
        _enqueue(world, sample_kind),
        worker_host="another-host",
        worker_pid=1234,
        heartbeat_at=timezone.now() - timedelta(seconds=100),
    )

    assert job_stale_reason(job) == ""
    assert "2 分钟没有响应" in job_stale_reason(job, now=timezone.now() + timedelta(seconds=30))


def test_a_long_queued_job_gets_a_hint_about_the_worker(world, sample_kind):
    job = _enqueue(world, sample_kind)

    assert job_waiting_notice(job) == ""
    assert "xiaowu worker" in job_waiting_notice(job, now=job.created_at + timedelta(minutes=1))


def test_old_result_files_expire(world, sample_kind, settings):
    settings.XIAOWU_JOB_RESULT_DAYS = 7
    job = _enqueue(world, sample_kind)
    jobs_run_pending()
    job.refresh_from_db()
    name = job.result_file.name

    assert jobs_results_expire(now=timezone.now() + timedelta(days=6)) == 0
    assert jobs_results_expire(now=timezone.now() + timedelta(days=8)) == 1

    job.refresh_from_db()
    assert not job.result_file
    assert not job.has_file
    assert not job.result_file.storage.exists(name)
    assert "已删除" in job.result_message


@pytest.mark.postgres
def test_progress_inside_a_runners_transaction_is_visible_at_once_on_postgresql():
    """A runner's own transaction does not hide its progress: on PostgreSQL the row is written
    through a second connection."""
    if connection.vendor != "postgresql":
        pytest.skip("the second connection is used on PostgreSQL only")
    # Rows committed outside the test's transaction, as the worker's job row would be.
    connections["jobs_side"] = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        unit = OrgUnit.objects.using("jobs_side").create(
            code="JOB-SIDE", name="进度测试局", kind=UnitKind.BUREAU
        )
        job = Job.objects.using("jobs_side").create(
            kind="tests.sample", title="进度", unit=unit, status=JobStatus.RUNNING, dedupe_key="x"
        )
        progress = Progress(job.pk)
        with transaction.atomic():  # the runner's transaction, still open
            progress.update(3, 10, "第 3 步")
            seen = Job.objects.using("jobs_side").values_list("progress_done", flat=True)
            assert seen.get(pk=job.pk) == 3  # committed elsewhere, visible before our commit
            Job.objects.using("jobs_side").filter(pk=job.pk).update(cancel_requested=True)
            with pytest.raises(JobCancelled):
                progress.update(10, 10)
        progress.close()
    finally:
        Job.objects.using("jobs_side").filter(unit__code="JOB-SIDE").delete()
        OrgUnit.objects.using("jobs_side").filter(code="JOB-SIDE").delete()
        connections["jobs_side"].close()
        del connections["jobs_side"]


def test_duration_text():
    start = timezone.now()
    job = Job(started_at=start)
    assert job.duration_text == ""
    job.finished_at = start + timedelta(seconds=12.34)
    assert job.duration_text == "12.3 秒"
    job.finished_at = start + timedelta(seconds=125)
    assert job.duration_text == "2 分 5 秒"
