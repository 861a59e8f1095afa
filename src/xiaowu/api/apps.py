from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "xiaowu.api"
    label = "api"
    verbose_name = "接口"
