from django.apps import AppConfig


class StudentsConfig(AppConfig):
    name = "xiaowu.students"
    label = "students"
    verbose_name = "学生"
