"""Exam setup, participants, score entry grid, score import, 口径."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
