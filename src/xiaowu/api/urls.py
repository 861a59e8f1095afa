from django.urls import path

from xiaowu.api.api import api

urlpatterns = [
    path("", api.urls),
]
