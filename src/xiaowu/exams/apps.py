from django.apps import AppConfig


class ExamsConfig(AppConfig):
    name = "xiaowu.exams"
    label = "exams"
    verbose_name = "考试与成绩分析"
