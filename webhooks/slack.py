"""Readable Slack messages for events (a webhook of kind `slack`): facts, never instructions."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from webhooks.models import Event


def worth_telling(event_type: str, data: dict[str, Any]) -> bool:
    """A Slack channel hears what a person should notice, not every change: care tasks opened,
    grants over SUPPORTDESK_SLACK_GRANT_THRESHOLD, a new chat while nobody is online, WOW stories
    nominated, and the types it asked for that are not filtered here."""
    match event_type:
        case "ticket.created":
            return data.get("type") == "care"
        case "grant.created":
            try:
                amount = Decimal(str(data.get("amount") or "0"))
            except InvalidOperation:
                return False
            return amount >= Decimal(settings.SUPPORTDESK_SLACK_GRANT_THRESHOLD)
        case "chat.started":
            # Only when nobody is online to see the queue: otherwise the console tells them.
            return data.get("agents_online") is False
        case "ticket.updated" | "message.created" | "chat.ended":
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
            who = data.get("visitor_name") or "A visitor"
            return f"A new chat is waiting and nobody is online: {who} (chat {data.get('id')})"
        case "chat.ended":
            return f"Chat {data.get('id')} with {data.get('visitor_name') or 'a visitor'} ended"
        case "story.nominated":
            about = f" about {data['subject_name']}" if data.get("subject_name") else ""
            values = data.get("values") or []
            tagged = f" ({', '.join(values)})" if values else ""
            return (
                f"WOW story nominated by {data.get('author_name', 'someone')}{about}: "
                f"\u201c{data.get('title', '')}\u201d{tagged} {data.get('url', '')}".rstrip()
            )
        case "grant.created":
            return f"A {data.get('kind', '')} grant of {data.get('amount', '')} was made"
        case _:
            return f"{event.type}: {data}"
