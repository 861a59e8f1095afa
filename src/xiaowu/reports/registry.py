"""The explicit list of summary section providers, in the order their sections appear."""

from __future__ import annotations

from xiaowu.exams.summary import ExamSummaryProvider
from xiaowu.org.summary import OrgSummaryProvider
from xiaowu.reports.providers import SectionProvider
from xiaowu.reports.summary import GoalProgressProvider
from xiaowu.staff.summary import StaffSummaryProvider
from xiaowu.students.summary import StudentSummaryProvider

PROVIDERS: tuple[SectionProvider, ...] = (
    OrgSummaryProvider(),
    StaffSummaryProvider(),
    StudentSummaryProvider(),
    ExamSummaryProvider(),
    GoalProgressProvider(),
)
