from django.urls import path

from xiaowu.org import views, views_rollover

app_name = "org"

urlpatterns = [
    path("", views.tree_view, name="tree"),
    path("units/<int:unit_id>/", views.unit_detail_view, name="unit_detail"),
    path("units/<int:unit_id>/children/", views.unit_children_view, name="unit_children"),
    path("units/<int:unit_id>/edit/", views.unit_update_view, name="unit_update"),
    path("units/<int:parent_id>/new/", views.unit_create_view, name="unit_create"),
    path(
        "units/<int:unit_id>/rollover/",
        views_rollover.school_rollover_view,
        name="school_rollover",
    ),
    path("schools/", views.school_list_view, name="school_list"),
    path("classes/", views.class_list_view, name="class_list"),
    path("alliances/", views.alliance_list_view, name="alliance_list"),
    path("alliances/<int:alliance_id>/", views.alliance_detail_view, name="alliance_detail"),
    path("calendar/", views.term_list_view, name="term_list"),
]
