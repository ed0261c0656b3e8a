from django.apps import AppConfig


class LivechatConfig(AppConfig):
    name = "livechat"
