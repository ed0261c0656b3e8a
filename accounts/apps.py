from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Agents and API tokens"

    def ready(self) -> None:
        from django.db.models.signals import pre_save

        from accounts.cutoff import watch_password_changes
        from accounts.models import User

        pre_save.connect(watch_password_changes, sender=User, dispatch_uid="password_cutoff")
        from accounts import signals  # noqa: F401  (connects the audit receivers)
