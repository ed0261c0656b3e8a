"""The domain hooks webhooks listen to (core.hooks, registered when the app is ready). Each
receiver runs in the transaction of the change and writes the outbox rows there."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from core import hooks
from webhooks.services import record_event


def _ticket_data(ticket: Any) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "type": ticket.type,
        "channel": ticket.channel,
        "assignee_id": ticket.assignee_id,
        "customer_id": ticket.customer_id,
        "merged_into_id": ticket.merged_into_id,
        "updated_at": ticket.updated_at,
    }


def on_ticket_created(*, ticket: Any) -> None:
    record_event(type="ticket.created", object_key=f"ticket:{ticket.pk}", data=_ticket_data(ticket))


def on_ticket_updated(*, ticket: Any, change: str, by: Any) -> None:
    record_event(
        type="ticket.updated",
        object_key=f"ticket:{ticket.pk}",
        data={**_ticket_data(ticket), "change": change},
    )


def on_message_created(*, message: Any) -> None:
    record_event(
        type="message.created",
        # The ticket's key: a message is never delivered before the ticket it belongs to.
        object_key=f"ticket:{message.ticket_id}",
        data={
            "id": message.pk,
            "ticket_id": message.ticket_id,
            "author_type": message.author_type,
            "internal": message.internal,
            "channel": message.channel,
            "body": message.body_text,
            "created_at": message.created_at,
        },
    )


def on_grant_changed(*, grant: Any, change: str) -> None:
    record_event(
        type=f"grant.{change}",
        object_key=f"grant:{grant.pk}",
        data={
            "id": grant.pk,
            "kind": grant.kind,
            "status": grant.status,
            "amount": str(grant.amount) if grant.amount is not None else None,
            "currency": grant.currency,
            "reason": grant.reason,
            "agent_id": grant.agent_id,
            "customer_id": grant.customer_id,
            "ticket_id": grant.ticket_id,
            "chat_id": grant.chat_id,
        },
    )


def on_survey_rated(*, survey: Any) -> None:
    record_event(
        type="csat.rated",
        object_key=f"csat:{survey.pk}",
        data={
            "id": survey.pk,
            "rating": survey.rating,
            "comment": survey.comment,
            "ticket_id": survey.ticket_id,
            "chat_id": survey.conversation_id,
            "customer_id": survey.customer_id,
            "rated_at": survey.rated_at,
        },
    )


def _chat_data(conversation: Any) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "status": conversation.status,
        "visitor_name": conversation.visitor_display_name,
        "verified": conversation.verified,
        "customer_id": conversation.customer_id,
        "assignee_id": conversation.assignee_id,
        "team_id": conversation.team_id,
        "ticket_id": conversation.ticket_id,
        "page_url": conversation.page_url,
        "created_at": conversation.created_at,
    }


def on_chat_started(*, conversation: Any, agents_online: bool) -> None:
    record_event(
        type="chat.started",
        object_key=f"chat:{conversation.pk}",
        data={**_chat_data(conversation), "agents_online": agents_online},
    )


def on_chat_ending(*, conversation: Any, by: Any) -> None:
    record_event(
        type="chat.ended",
        object_key=f"chat:{conversation.pk}",
        data={
            **_chat_data(conversation),
            "ended_at": conversation.ended_at,
            "ended_by": "agent" if by is not None else "visitor",
            "ended_by_id": by.pk if by is not None else None,
        },
    )


def on_story_nominated(*, story: Any) -> None:
    record_event(
        type="story.nominated",
        object_key=f"story:{story.pk}",
        data={
            "id": story.pk,
            "title": story.title,
            "author_id": story.author_id,
            "author_name": story.author.display_name,
            "subject_user_id": story.subject_user_id,
            "subject_name": story.subject_user.display_name if story.subject_user else None,
            "values": sorted(v.name for v in story.values.all()),
            "ticket_id": story.ticket_id,
            "chat_id": story.chat_id,
            "url": f"{settings.SITE_URL}/wall/#story-{story.pk}",
            "created_at": story.created_at,
        },
    )


def register() -> None:
    hooks.ticket_created.register(on_ticket_created)
    hooks.ticket_updated.register(on_ticket_updated)
    hooks.message_created.register(on_message_created)
    hooks.grant_changed.register(on_grant_changed)
    hooks.survey_rated.register(on_survey_rated)
    hooks.chat_started.register(on_chat_started)
    hooks.chat_ending.register(on_chat_ending)
    hooks.story_nominated.register(on_story_nominated)
