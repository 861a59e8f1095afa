from django.urls import path

from xiaowu.staff import views

app_name = "staff"

urlpatterns = [
    path("", views.staff_list_view, name="list"),
    path("new/", views.staff_create_view, name="create"),
    path("<int:staff_id>/", views.staff_detail_view, name="detail"),
    path("<int:staff_id>/edit/", views.staff_update_view, name="update"),
    path("<int:staff_id>/status/new/", views.staff_status_create_view, name="status_create"),
    path("<int:staff_id>/honours/new/", views.staff_honour_create_view, name="honour_create"),
    path(
        "<int:staff_id>/assignments/new/",
        views.teaching_assignment_create_view,
        name="assignment_create",
    ),
    path("<int:staff_id>/reveal/<slug:field>/", views.staff_unmask_view, name="unmask"),
    path(
        "assignments/<int:assignment_id>/delete/",
        views.teaching_assignment_delete_view,
        name="assignment_delete",
    ),
]
