"""Analysis pages: dashboard, comparison tables, charts, exports, value-added, slips."""

from django.urls import URLPattern, path

from xiaowu.exams import views_analysis as views
from xiaowu.exams import views_assigned

urlpatterns: list[URLPattern] = [
    path("<int:exam_id>/analysis/", views.analysis_dashboard_view, name="analysis_dashboard"),
    path("<int:exam_id>/analysis/classes/", views.analysis_classes_view, name="analysis_classes"),
    path(
        "<int:exam_id>/analysis/teachers/",
        views.analysis_teachers_view,
        name="analysis_teachers",
    ),
    path("<int:exam_id>/analysis/schools/", views.analysis_schools_view, name="analysis_schools"),
    path("<int:exam_id>/analysis/bands/", views.analysis_bands_view, name="analysis_bands"),
    path(
        "<int:exam_id>/analysis/one-point/",
        views.analysis_one_point_view,
        name="analysis_one_point",
    ),
    path("<int:exam_id>/analysis/joint/", views.analysis_joint_view, name="analysis_joint"),
    path(
        "<int:exam_id>/analysis/students/",
        views.analysis_students_view,
        name="analysis_students",
    ),
    path(
        "<int:exam_id>/analysis/assigned/",
        views_assigned.analysis_assigned_view,
        name="analysis_assigned",
    ),
    path("<int:exam_id>/analysis/trend/", views.analysis_trend_view, name="analysis_trend"),
    path("<int:exam_id>/analysis/export/", views.analysis_export_view, name="analysis_export"),
    path("students/<int:student_id>/scores/", views.student_scores_view, name="student_scores"),
    path("slips/", views.slip_list_view, name="slip_list"),
    path("<int:exam_id>/slips/<int:student_id>/", views.slip_detail_view, name="slip_detail"),
    path("value-added/", views.va_form_view, name="va_form"),
    path("value-added/<int:analysis_id>/", views.va_detail_view, name="va_detail"),
]
