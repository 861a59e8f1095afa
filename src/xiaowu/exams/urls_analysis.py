"""Analysis pages: dashboard, comparison tables, charts, exports, value-added, slips."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
