"""Task entrypoints (django-tasks): ids in, call the execution service, nothing else."""

from __future__ import annotations

from django_tasks import task

from xiaowu.jobs.execution import job_execute


@task()
def job_run(job_id: int) -> str:
    """Run job ``job_id`` in the worker; return its final status."""
    return job_execute(job_id=job_id)
