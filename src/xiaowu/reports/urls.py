from django.urls import path

from xiaowu.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.summary_list_view, name="summary_list"),
    path("<int:summary_id>/", views.summary_detail_view, name="summary_detail"),
    path("<int:summary_id>/summary.json", views.summary_json_view, name="summary_json"),
    path("<int:summary_id>/download.docx", views.summary_docx_view, name="summary_docx"),
    path("<int:summary_id>/download.pdf", views.summary_pdf_view, name="summary_pdf"),
    path("<int:summary_id>/texts/new/", views.summary_text_add_view, name="summary_text_add"),
    path("<int:summary_id>/goals/new/", views.goal_create_view, name="goal_create"),
    path("texts/<int:text_id>/edit/", views.summary_text_edit_view, name="summary_text_edit"),
    path("texts/<int:text_id>/delete/", views.summary_text_delete_view, name="summary_text_delete"),
    path("goals/", views.goal_list_view, name="goal_list"),
    path("goals/import/", views.summary_import_view, name="summary_import"),
    path("goals/<int:goal_id>/edit/", views.goal_update_view, name="goal_update"),
]
