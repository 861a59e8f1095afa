from django.urls import path

from xiaowu.reports import job_views, views

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
    path("agreements/", views.agreement_list_view, name="agreement_list"),
    path("agreements/<int:agreement_id>/", views.agreement_detail_view, name="agreement_detail"),
    path(
        "agreements/<int:agreement_id>/delete/",
        views.agreement_delete_view,
        name="agreement_delete",
    ),
    path(
        "agreements/<int:agreement_id>/report/",
        views.agreement_report_view,
        name="agreement_report",
    ),
    path(
        "agreements/<int:agreement_id>/items/new/",
        views.agreement_item_create_view,
        name="agreement_item_create",
    ),
    path(
        "agreements/items/<int:item_id>/edit/",
        views.agreement_item_edit_view,
        name="agreement_item_edit",
    ),
    path(
        "agreements/items/<int:item_id>/delete/",
        views.agreement_item_delete_view,
        name="agreement_item_delete",
    ),
    path("templates/", views.template_list_view, name="template_list"),
    path("templates/example.docx", views.template_example_view, name="template_example"),
    path("templates/<int:template_id>/", views.template_versions_view, name="template_versions"),
    path(
        "templates/<int:template_id>/download.docx",
        views.template_download_view,
        name="template_download",
    ),
]
# Background generation (the jobs app): queue the Word file of a large roll-up.
urlpatterns += [
    path(
        "<int:summary_id>/background/",
        job_views.summary_job_create_view,
        name="summary_job_create",
    ),
]
