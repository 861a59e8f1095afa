from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "xiaowu.core"
    label = "core"
    verbose_name = "基础"
