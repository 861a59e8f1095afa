"""Exams URLs: setup and score entry (``urls_entry``) and analysis (``urls_analysis``)."""

from xiaowu.exams.urls_analysis import urlpatterns as analysis_patterns
from xiaowu.exams.urls_entry import urlpatterns as entry_patterns

app_name = "exams"

urlpatterns = [*entry_patterns, *analysis_patterns]
