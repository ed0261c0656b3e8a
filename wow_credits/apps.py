from django.apps import AppConfig


class WowCreditsConfig(AppConfig):
    name = "wow_credits"
