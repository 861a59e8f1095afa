"""Expected access to the background-job pages and the summary's 后台生成 button.

A job is visible to the user who started it and to leaders (org.manage) of its unit; anyone
else gets 404, even inside the same school. The result download checks the runner's permission
again.
"""

from __future__ import annotations

from typing import Any

from conftest import World

from tests.access.common import ANON_LOGIN, EVERYONE, LEADERS, OUTSIDERS, Route, expect
from xiaowu.jobs.services import job_enqueue
from xiaowu.jobs.worker import jobs_run_pending
from xiaowu.reports import jobs as summary_jobs
from xiaowu.reports.period import school_year_period
from xiaowu.reports.services import work_summary_create

REPORT_VIEWERS = [*LEADERS, "vice", "office", "gradehead"]
NO_SCOPE = ["parent", *OUTSIDERS]
# The job is started by the principal: leaders above the school see it too.
JOB_VIEWERS = LEADERS


def _summary(w: World) -> Any:
    return work_summary_create(
        actor=w.users["principal"], unit=w.school, period=school_year_period("2025-2026", 1)
    )


def _summary_id(w: World) -> dict[str, Any]:
    return {"summary_id": _summary(w).pk}


def _job(w: World) -> Any:
    summary = _summary(w)
    return job_enqueue(
        actor=w.users["principal"],
        kind=summary_jobs.KIND,
        unit=w.school,
        params=summary_jobs.job_params(summary),
        title=summary_jobs.job_title(summary),
    )


def _queued_job_id(w: World) -> dict[str, Any]:
    return {"job_id": _job(w).pk}


def _finished_job_id(w: World) -> dict[str, Any]:
    job = _job(w)
    jobs_run_pending()
    return {"job_id": job.pk}


ACCESS: dict[str, Route] = {
    "jobs:list": Route("get", expect={**ANON_LOGIN, **expect((EVERYONE, 200))}),
    "jobs:detail": Route(
        "get", _queued_job_id, expect={**ANON_LOGIN, **expect((JOB_VIEWERS, 200))}, other=404
    ),
    "jobs:progress": Route(
        "get", _queued_job_id, expect={**ANON_LOGIN, **expect((JOB_VIEWERS, 200))}, other=404
    ),
    "jobs:cancel": Route(
        "post", _queued_job_id, expect={**ANON_LOGIN, **expect((JOB_VIEWERS, 302))}, other=404
    ),
    "jobs:download": Route(
        "get", _finished_job_id, expect={**ANON_LOGIN, **expect((JOB_VIEWERS, 200))}, other=404
    ),
    "reports:summary_job_create": Route(
        "post",
        _summary_id,
        expect={**ANON_LOGIN, **expect((REPORT_VIEWERS, 302), (NO_SCOPE, 404))},
    ),
}
