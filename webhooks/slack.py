"""Readable Slack messages for events (a webhook of kind `slack`): facts, never instructions."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from webhooks.models import Event


def worth_telling(event_type: str, data: dict[str, Any]) -> bool:
    """A Slack channel hears what a person should notice, not every change: care tasks opened,
    grants over SUPPORTDESK_SLACK_GRANT_THRESHOLD, chats waiting, and the types it asked for
    that are not filtered here."""
    match event_type:
        case "ticket.created":
            return data.get("type") == "care"
        case "grant.created":
            try:
                amount = Decimal(str(data.get("amount") or "0"))
            except InvalidOperation:
                return False
            return amount >= Decimal(settings.SUPPORTDESK_SLACK_GRANT_THRESHOLD)
        case "ticket.updated" | "message.created":
            return False
        case _:
            return True


def text_for(event: Event) -> str:
    data = event.data
    match event.type:
        case "ticket.created":
            prefix = "Care task opened" if data.get("type") == "care" else "New ticket"
            return f"{prefix} #{data.get('id')}: {data.get('subject', '')}"
        case "ticket.updated":
            return f"Ticket #{data.get('id')} {data.get('change', 'updated')}: status {data.get('status')}"
        case "message.created":
            who = data.get("author_type", "someone")
            return f"New {who} message on ticket #{data.get('ticket_id')}"
        case "chat.started":
            return "A new chat is waiting and nobody is online"
        case "grant.created":
            return f"A {data.get('kind', '')} grant of {data.get('amount', '')} was made"
        case _:
            return f"{event.type}: {data}"
