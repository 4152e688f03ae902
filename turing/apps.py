from django.apps import AppConfig


class TuringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "turing"
