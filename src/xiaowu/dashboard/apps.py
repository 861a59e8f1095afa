from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "xiaowu.dashboard"
    label = "dashboard"
    verbose_name = "首页"
