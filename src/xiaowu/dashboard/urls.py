from django.urls import path

from xiaowu.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.home_view, name="home"),
]
