"""The job kinds: one line per kind, kind → dotted path of its runner module.

A runner module (see ``jobs.runner`` for the types) defines

- ``LABEL: str`` — what the job list calls this kind (e.g. "工作总结 Word 生成");
- ``check(*, actor, unit, params) -> None`` — the permission and input check, run when the job
  is enqueued, again when it starts and again when its result file is downloaded; raises
  ``PermissionDenied`` or ``ValidationError`` (Chinese messages);
- ``run(job_params, progress) -> JobOutcome`` — the work, in the worker process.
  ``job_params`` is the dict given to ``job_enqueue`` plus ``actor_id``, ``unit_id`` and
  ``job_id`` (``jobs.runner.job_actor`` / ``job_unit`` load them); call
  ``progress.update(done, total, message)`` as it goes.

Modules are named by path so that ``jobs`` imports no domain at load time.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

JOB_KINDS: dict[str, str] = {
    "reports.summary": "xiaowu.reports.jobs",  # 工作总结 → .docx in the background
    "exams.score_import": "xiaowu.exams.score_import",  # large score files
    "exams.analysis": "xiaowu.exams.analysis",  # analyses of very large exams
    "exams.value_added": "xiaowu.exams.value_added",  # SGP and large value-added fits
}


class UnknownJobKindError(LookupError):
    pass


def runner_module(kind: str) -> ModuleType:
    """Return the runner module of ``kind``; raise UnknownJobKindError if it is not registered."""
    try:
        path = JOB_KINDS[kind]
    except KeyError as exc:
        raise UnknownJobKindError(kind) from exc
    return import_module(path)


def kind_label(kind: str) -> str:
    try:
        return str(getattr(runner_module(kind), "LABEL", kind))
    except (UnknownJobKindError, ImportError):
        return kind
