"""Exam setup, participants, score entry grid, score import, 口径."""

from django.urls import URLPattern, path

from xiaowu.exams import views_entry as views

urlpatterns: list[URLPattern] = [
    path("", views.exam_list_view, name="exam_list"),
    path("new/", views.exam_create_view, name="exam_create"),
    path("<int:exam_id>/", views.exam_detail_view, name="exam_detail"),
    path("<int:exam_id>/edit/", views.exam_edit_view, name="exam_edit"),
    path("<int:exam_id>/lock/", views.exam_lock_view, name="exam_lock"),
    path("<int:exam_id>/unlock/", views.exam_unlock_view, name="exam_unlock"),
    path("<int:exam_id>/subjects/new/", views.subject_add_view, name="subject_add"),
    path(
        "<int:exam_id>/subjects/<int:subject_id>/edit/",
        views.subject_edit_view,
        name="subject_edit",
    ),
    path(
        "<int:exam_id>/subjects/<int:subject_id>/delete/",
        views.subject_delete_view,
        name="subject_delete",
    ),
    path("<int:exam_id>/participants/", views.participants_view, name="participants"),
    path("<int:exam_id>/participants/numbers/", views.numbers_assign_view, name="numbers_assign"),
    path(
        "<int:exam_id>/participants/<int:class_id>/remove/",
        views.class_remove_view,
        name="class_remove",
    ),
    path("<int:exam_id>/teachers/", views.class_teachers_view, name="class_teachers"),
    path("<int:exam_id>/grid/<int:class_id>/", views.score_grid_view, name="score_grid"),
    path("<int:exam_id>/scores/", views.score_save_view, name="score_save"),
    path("<int:exam_id>/import/", views.score_import_view, name="score_import"),
    path(
        "<int:exam_id>/import/commit/",
        views.score_import_commit_view,
        name="score_import_commit",
    ),
    path("calibers/", views.caliber_list_view, name="caliber_list"),
    path("calibers/new/", views.caliber_create_view, name="caliber_create"),
    path("calibers/<int:caliber_id>/", views.caliber_detail_view, name="caliber_detail"),
    path("calibers/<int:caliber_id>/edit/", views.caliber_edit_view, name="caliber_edit"),
]
