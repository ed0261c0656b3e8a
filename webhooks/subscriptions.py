"""The domain hooks webhooks listen to (connected when the app is ready). Each receiver runs in
the transaction of the change and writes the outbox rows there."""

from __future__ import annotations

from typing import Any

from csat import hooks as csat_hooks
from tickets import hooks as ticket_hooks
from webhooks.services import record_event
from wow_credits import hooks as grant_hooks


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


def on_ticket_created(sender: object, *, ticket: Any, **_: object) -> None:
    record_event(type="ticket.created", object_key=f"ticket:{ticket.pk}", data=_ticket_data(ticket))


def on_ticket_updated(sender: object, *, ticket: Any, change: str, **_: object) -> None:
    record_event(
        type="ticket.updated",
        object_key=f"ticket:{ticket.pk}",
        data={**_ticket_data(ticket), "change": change},
    )


def on_message_created(sender: object, *, message: Any, **_: object) -> None:
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


def on_grant_changed(sender: object, *, grant: Any, change: str, **_: object) -> None:
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


def on_survey_rated(sender: object, *, survey: Any, **_: object) -> None:
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


ticket_hooks.ticket_created.connect(on_ticket_created, dispatch_uid="webhooks.ticket_created")
ticket_hooks.ticket_updated.connect(on_ticket_updated, dispatch_uid="webhooks.ticket_updated")
ticket_hooks.message_created.connect(on_message_created, dispatch_uid="webhooks.message_created")
grant_hooks.grant_changed.connect(on_grant_changed, dispatch_uid="webhooks.grant_changed")
csat_hooks.survey_rated.connect(on_survey_rated, dispatch_uid="webhooks.survey_rated")
