from django.urls import URLPattern, path

from xiaowu.exchange import views

app_name = "exchange"

urlpatterns: list[URLPattern] = [
    path("", views.exchange_home_view, name="home"),
    path("batches/<int:batch_id>/", views.import_batch_detail_view, name="batch_detail"),
    path("batches/<int:batch_id>/commit/", views.import_batch_commit_view, name="batch_commit"),
    path("template/<str:kind>/", views.import_template_view, name="template"),
    path("export/", views.export_view, name="export"),
]
