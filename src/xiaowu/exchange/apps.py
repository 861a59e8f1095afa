from django.apps import AppConfig
from django.core.checks import Tags, register

from xiaowu.exchange.checks import defusedxml_check


class ExchangeConfig(AppConfig):
    name = "xiaowu.exchange"
    label = "exchange"
    verbose_name = "数据导入导出"

    def ready(self) -> None:
        register(defusedxml_check, Tags.security)
