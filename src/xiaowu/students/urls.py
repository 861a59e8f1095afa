from django.urls import path

from xiaowu.students import views

app_name = "students"

urlpatterns = [
    path("", views.student_list_view, name="list"),
    path("new/", views.student_create_view, name="create"),
    path("stats/", views.student_stats_view, name="stats"),
    path(
        "stats/population/new/",
        views.age_cohort_population_create_view,
        name="population_create",
    ),
    path("<int:student_id>/", views.student_detail_view, name="detail"),
    path("<int:student_id>/edit/", views.student_update_view, name="update"),
    path(
        "<int:student_id>/status-changes/new/",
        views.status_change_create_view,
        name="status_change_create",
    ),
    path("<int:student_id>/reveal/<slug:field>/", views.student_unmask_view, name="unmask"),
    path(
        "<int:student_id>/guardians/<int:guardian_id>/mobile/",
        views.guardian_mobile_unmask_view,
        name="guardian_mobile_unmask",
    ),
    path(
        "<int:student_id>/attachments/<int:attachment_id>/",
        views.attachment_download_view,
        name="attachment",
    ),
]
