"""A runner for the tests, registered under the kind "tests.sample" by the ``sample_kind``
fixture. ``params["mode"]`` picks what it does."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied

from xiaowu.accounts.models import User
from xiaowu.accounts.roles import Perm
from xiaowu.accounts.scoping import has_perm_at
from xiaowu.jobs.models import Job
from xiaowu.jobs.runner import JobError, JobOutcome, Progress, job_actor
from xiaowu.org.models import OrgUnit

LABEL = "测试任务"
KIND = "tests.sample"


def check(*, actor: User, unit: OrgUnit, params: Mapping[str, Any]) -> None:
    if not has_perm_at(actor, Perm.STAFF_VIEW, unit.pk):
        raise PermissionDenied("您不能在该单位运行测试任务。")


def run(job_params: Mapping[str, Any], progress: Progress) -> JobOutcome:
    actor = job_actor(job_params)
    mode = job_params.get("mode", "ok")
    steps = int(job_params.get("steps", 3))
    for step in range(steps):
        progress.update(step, steps, f"第 {step + 1} 步")
        if mode == "cancel_midway" and step == 1:
            # What the cancel button does while the job runs.
            Job.objects.filter(pk=job_params["job_id"]).update(cancel_requested=True)
        if mode == "signal_self" and step == 1:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
    if mode == "job_error":
        raise JobError("数据不完整：第 3 行缺少姓名。")
    if mode == "crash":
        raise RuntimeError("boom: internal detail")
    if mode == "slow":
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.02)
    progress.update(steps, steps, "完成")
    return JobOutcome(
        message=f"{actor.full_name}的测试任务已完成。",
        data={"steps": steps},
        file=b"hello",
        filename="结果.txt",
        content_type="text/plain",
        links=[("返回首页", "/")],
    )
