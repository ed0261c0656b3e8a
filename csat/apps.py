from django.apps import AppConfig


class CsatConfig(AppConfig):
    name = "csat"

    def ready(self) -> None:
        from core import hooks
        from csat import services

        # Ask for a rating when a ticket is solved or a chat ends.
        hooks.ticket_solved.register(services.request_for_ticket_id)
        hooks.chat_ended.register(services.request_for_chat_id)
        # The ticket and chat JSON show the rating.
        hooks.ticket_csat.register(services.result_for_ticket)
        hooks.chat_csat.register(services.result_for_chat)
