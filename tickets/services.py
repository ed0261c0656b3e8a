"""Ticket operations: the one way in for views, the API, email ingestion, chats and sweeps.

Every function that changes a ticket publishes a realtime event after commit (inbox and ticket
pages update live) and bumps `updated_at`, which orders the inbox.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import User
from attachments import services as attachment_services
from attachments.models import Attachment
from audit.services import diff, record
from core import hooks, languages
from core.emails import single_line
from core.emails import thread_headers as email_thread
from core.realtime import asend_events, send_event_on_commit
from customers.models import Customer
from mailer.models import OutboundEmail
from mailer.services import build_email, make_message_id, queue_emails
from tickets import events, waits
from tickets.models import (
    AuthorType,
    Channel,
    FollowUp,
    FollowUpStatus,
    Message,
    Priority,
    Status,
    Tag,
    Ticket,
    TicketRead,
    TicketType,
)
from tickets.sanitize import html_to_text, sanitize_html

log = logging.getLogger(__name__)

SEARCH_DOCUMENT_LIMIT = 20_000


class TicketError(ValueError):
    """A request that cannot be carried out, with a code for the API."""

    def __init__(self, detail: str, code: str = "invalid") -> None:
        super().__init__(detail)
        self.code = code


def _append_search_text(ticket: Ticket, text: str) -> None:
    if len(ticket.search_document) >= SEARCH_DOCUMENT_LIMIT:
        return
    ticket.search_document = (ticket.search_document + "\n" + text)[:SEARCH_DOCUMENT_LIMIT]


@dataclass(frozen=True, kw_only=True)
class NewTicket:
    """A ticket to open with the customer's first message (`create_ticket`).

    `mailbox_id`: the shop mailbox it came in through (replies go out from that address);
    `spam`: straight into the Spam view, as mail from a blocked sender ("not spam" makes it new);
    `message_id`, `in_reply_to`, `references`, `is_auto_reply`: the first message's email headers;
    `no_auto_answer`: why nothing automatic may answer the sender (an auto-reply counts without
    saying).
    """

    customer: Customer
    subject: str
    body_text: str = ""
    body_html: str = ""
    channel: Channel | str = Channel.WEB
    type: TicketType | str = TicketType.QUESTION
    priority: Priority | str = Priority.NORMAL
    order_id: int | None = None
    care_key: str | None = None
    assignee: User | None = None
    author_type: AuthorType | str = AuthorType.CUSTOMER
    mailbox_id: int | None = None
    spam: bool = False
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    is_auto_reply: bool = False
    no_auto_answer: str = ""


def create_ticket(new: NewTicket) -> tuple[Ticket, Message]:
    """Open a ticket with the customer's first message.

    A ticket the customer opened by writing in (email or web: the form, the widget's offline
    form) fires `hooks.customer_wrote_in` after commit."""
    customer, spam, assignee = new.customer, new.spam, new.assignee
    subject = single_line(new.subject)[:255] or "(no subject)"
    now = timezone.now()
    with transaction.atomic():
        ticket = Ticket(
            subject=subject,
            customer=customer,
            channel=new.channel,
            type=new.type,
            priority=new.priority,
            order_id=new.order_id,
            care_key=new.care_key,
            assignee=assignee,
            mailbox_id=new.mailbox_id,
            status=Status.SPAM if spam else Status.OPEN if assignee else Status.NEW,
            status_before_spam=Status.NEW if spam else "",
            created_at=now,
            updated_at=now,
            last_message_at=now,
        )
        _append_search_text(ticket, f"{subject}\n{customer.display_name} {customer.primary_email}")
        waits.refresh_due_times(ticket)
        ticket.save()
        hooks.ticket_created.fire(ticket=ticket)
        message = _add_message(
            ticket,
            author_type=new.author_type,
            author_customer=customer if new.author_type == AuthorType.CUSTOMER else None,
            body_text=new.body_text,
            body_html=new.body_html,
            channel=new.channel,
            message_id=new.message_id or make_message_id(),
            in_reply_to=new.in_reply_to,
            references=new.references,
            is_auto_reply=new.is_auto_reply,
        )
        events.inbox_changed_on_commit(events.ticket_changed(ticket, "created"))
        if new.author_type == AuthorType.CUSTOMER and new.channel in (Channel.EMAIL, Channel.WEB):
            hooks.customer_wrote_in.fire_on_commit(
                ticket_id=ticket.pk,
                message_id=message.pk,
                no_auto_answer=new.no_auto_answer
                or ("an automatic reply" if new.is_auto_reply else ""),
            )
        record(
            "ticket.created",
            obj=ticket,
            detail={"channel": ticket.channel, "type": ticket.type, "customer": customer.pk},
        )
    return ticket, message


def _add_message(
    ticket: Ticket,
    *,
    author_type: AuthorType | str,
    body_text: str,
    body_html: str = "",
    author_user: User | None = None,
    author_customer: Customer | None = None,
    internal: bool = False,
    channel: Channel | str = Channel.EMAIL,
    message_id: str = "",
    in_reply_to: str = "",
    references: str = "",
    is_auto_reply: bool = False,
) -> Message:
    clean_html = sanitize_html(body_html) if body_html else ""
    text = body_text or (html_to_text(clean_html) if clean_html else "")
    message = Message.objects.create(
        ticket=ticket,
        author_type=author_type,
        author_user=author_user,
        author_customer=author_customer,
        internal=internal,
        channel=channel,
        body_text=text,
        body_html=clean_html,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        is_auto_reply=is_auto_reply,
    )
    now = message.created_at
    row_fields = _note_message(
        ticket,
        author_type=author_type,
        internal=internal,
        is_auto_reply=is_auto_reply,
        text=text,
        at=now,
    )
    Ticket.objects.filter(pk=ticket.pk).update(
        updated_at=now, last_message_at=now, **{f: getattr(ticket, f) for f in row_fields}
    )
    ticket.updated_at = ticket.last_message_at = now
    if not internal and len(ticket.search_document) < SEARCH_DOCUMENT_LIMIT:
        _append_search_text(ticket, text)
        Ticket.objects.filter(pk=ticket.pk).update(search_document=ticket.search_document)
    send_event_on_commit(events.ticket_group(ticket.pk), events.message_added(message))
    hooks.message_created.fire(message=message)
    return message


PREVIEW_LENGTH = 160
# What a status change may move besides the status (see _apply_status).
STATUS_FIELDS = ["status", "solved_at", "customer_waiting_since", *waits.WAIT_FIELDS]


def preview(text: str) -> str:
    """A message as the inbox row shows it: one line, at most PREVIEW_LENGTH characters."""
    line = " ".join(text.split())
    return line if len(line) <= PREVIEW_LENGTH else line[: PREVIEW_LENGTH - 1] + "\u2026"


def _note_message(
    ticket: Ticket,
    *,
    author_type: AuthorType | str,
    internal: bool,
    is_auto_reply: bool,
    text: str,
    at: datetime,
) -> list[str]:
    """Keep what an inbox row shows in step with a new message (in memory; returns the fields to
    save): the preview of the last public message, when the customer last wrote, since when they
    wait (their oldest unanswered message) and the first public answer, which ends the
    first-response target."""
    if internal:
        return []
    ticket.last_message_preview = preview(text)
    fields = ["last_message_preview"]
    if author_type == AuthorType.CUSTOMER and not is_auto_reply:
        ticket.last_customer_message_at = at
        if ticket.customer_waiting_since is None:
            ticket.customer_waiting_since = at
        fields += ["last_customer_message_at", "customer_waiting_since"]
    elif author_type == AuthorType.AGENT:
        ticket.customer_waiting_since = None
        fields.append("customer_waiting_since")
        if ticket.first_responded_at is None:
            ticket.first_responded_at = at
            fields += ["first_responded_at", *waits.refresh_due_times(ticket)]
    return fields


def add_customer_message(
    ticket: Ticket,
    *,
    customer: Customer,
    body_text: str,
    body_html: str = "",
    channel: Channel | str = Channel.EMAIL,
    message_id: str = "",
    in_reply_to: str = "",
    references: str = "",
    is_auto_reply: bool = False,
) -> Message:
    """The customer wrote again: reopen a pending or solved ticket (auto-replies reopen nothing)."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        message = _add_message(
            ticket,
            author_type=AuthorType.CUSTOMER,
            author_customer=customer,
            body_text=body_text,
            body_html=body_html,
            channel=channel,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            is_auto_reply=is_auto_reply,
        )
        if not is_auto_reply and ticket.status in (Status.PENDING, Status.SOLVED, Status.CLOSED):
            ticket.status = Status.OPEN
            ticket.solved_at = None
            ticket.save(update_fields=["status", "solved_at", *waits.refresh_due_times(ticket)])
        events.inbox_changed_on_commit(events.ticket_changed(ticket, "message"))
    return message


def reply_address(ticket: Ticket) -> str:
    """support+<reference>@domain: replies route back to this ticket even if headers are lost."""
    local, _, domain = settings.SUPPORTDESK_REPLY_ADDRESS.partition("@")
    return f"{local}+{ticket.reference}@{domain}"


def thread_headers(ticket: Ticket) -> tuple[str, str]:
    """In-Reply-To and References for the next outgoing email on `ticket`."""
    return email_thread(
        list(ticket.messages.exclude(message_id="").values_list("message_id", flat=True))
    )


def thread_email(
    ticket: Ticket,
    *,
    to: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    from_email: str | None = None,
    reply_to: str | None = None,
    transport: str = "",
    message_id: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
    ticket_message_id: int | None = None,
    attachments: list[dict[str, str]] | None = None,
    thread: tuple[str, str] | None = None,
) -> OutboundEmail:
    """The one way to build an email in a ticket's thread (replies, follow-ups, CSAT surveys,
    grant confirmations): `[#reference]` after the subject, the reply address that routes back
    to the ticket, In-Reply-To and References continuing the thread (`thread` when the caller
    read them already, else read here) and X-Supportdesk-Ticket. `reply_to`: the ticket's reply
    address unless the caller names another (a shop mailbox's). An unsaved row to queue."""
    in_reply_to, references = thread if thread is not None else thread_headers(ticket)
    return build_email(
        to=[to],
        subject=f"{subject} [#{ticket.reference}]",
        body_text=body_text,
        body_html=body_html,
        from_email=from_email,
        reply_to=reply_address(ticket) if reply_to is None else reply_to,
        transport=transport,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        extra_headers={**(extra_headers or {}), "X-Supportdesk-Ticket": ticket.reference},
        ticket_id=ticket.pk,
        ticket_message_id=ticket_message_id,
        attachments=attachments,
    )


def add_agent_reply(
    ticket: Ticket,
    *,
    by: User,
    body_text: str,
    internal: bool = False,
    status: Status | str | None = None,
    channel: Channel | str = Channel.EMAIL,
    attachment_ids: Iterable[int] = (),
) -> Message:
    """An agent's public reply (emailed to the customer) or internal note (never sent).

    The message, its attachments and its email row (which carries the files as MIME parts)
    commit together; the send happens after commit, durably. An attachment that is not the
    agent's own upload or this ticket's raises TicketError(`foreign_attachment`) and nothing is
    stored or sent.
    """
    body_text = body_text.strip()
    attachment_ids = list(attachment_ids)
    if not body_text and attachment_ids:
        body_text = "(attachment)" if len(attachment_ids) == 1 else "(attachments)"
    if not body_text:
        raise TicketError("A reply needs a body", code="empty_body")
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().select_related("customer").get(pk=ticket.pk)
        in_reply_to, references = thread_headers(ticket)
        message_id = "" if internal else make_message_id()
        message = _add_message(
            ticket,
            author_type=AuthorType.AGENT,
            author_user=by,
            body_text=body_text,
            internal=internal,
            channel=channel,
            message_id=message_id,
            in_reply_to="" if internal else in_reply_to,
            references="" if internal else references,
        )
        try:
            files = attachment_services.bind_to_message(
                attachment_ids, ticket_id=ticket.pk, message_id=message.pk, by=by
            )
        except attachment_services.AttachmentError as exc:
            raise TicketError(str(exc), code=exc.code) from None
        changed = ["updated_at"]
        if not internal:
            _queue_reply_email(
                ticket,
                message,
                by=by,
                in_reply_to=in_reply_to,
                references=references,
                files=files,
            )
            if ticket.assignee_id is None:
                ticket.assignee = by
                changed.append("assignee")
            if status is None and ticket.status == Status.NEW:
                status = Status.PENDING
        if status is not None and status != ticket.status:
            _apply_status(ticket, Status(status))
            changed += STATUS_FIELDS
        ticket.save(update_fields=changed)
        events.inbox_changed_on_commit(events.ticket_changed(ticket, "reply"))
        # A message is audited as an event: who wrote what kind of message where, never its body.
        record(
            "message.created",
            obj=message,
            actor=by,
            detail={"ticket": ticket.pk, "internal": internal, "status": ticket.status},
        )
    return message


def _queue_reply_email(
    ticket: Ticket,
    message: Message,
    *,
    by: User,
    in_reply_to: str,
    references: str,
    files: list[Attachment] | None = None,
) -> None:
    email = _reply_email(
        ticket, message, by=by, in_reply_to=in_reply_to, references=references, files=files
    )
    if email is not None:
        queue_emails([email])


def _reply_email(
    ticket: Ticket,
    message: Message,
    *,
    by: User,
    in_reply_to: str,
    references: str,
    to: str | None = None,
    mailbox_address: str | None = None,
    files: list[Attachment] | None = None,
) -> OutboundEmail | None:
    """The unsaved email row for an agent's public reply (None: the customer has no address).
    `to`: the customer's primary address, when the caller already looked it up.
    A ticket that came in through a shop mailbox is answered from that mailbox's address and
    through its SMTP server (`transport`, resolved at send time; else the global one), with the
    mailbox's address as Reply-To (threading then rests on In-Reply-To/References and [#ref]).
    `mailbox_address`: that address, when the caller already looked it up. `files` go as MIME
    parts, and as signed links at the end of the text (for mail systems that strip them)."""
    if to is None:
        to = ticket.customer.primary_email
    if not to:
        log.info("Ticket %s has no customer address; reply kept on the ticket only", ticket.pk)
        return None
    subject = (
        ticket.subject if ticket.subject.lower().startswith("re:") else f"Re: {ticket.subject}"
    )
    sender = f"{single_line(by.display_name)} at {settings.SUPPORTDESK_COMPANY_NAME}"
    from_address, reply_to, transport = ticket_sender(ticket, mailbox_address=mailbox_address)
    body_text = message.body_text
    if files:
        links = "\n".join(f"- {a.filename}: {attachment_services.signed_url(a)}" for a in files)
        with translation.override(languages.or_default(ticket.customer.language)):
            heading = gettext("Attached files (also online):")
        body_text = f"{body_text}\n\n{heading}\n{links}"
    return thread_email(
        ticket,
        to=to,
        subject=subject,
        body_text=body_text,
        from_email=f'"{sender.replace(chr(34), "")}" <{from_address}>',
        reply_to=reply_to,
        transport=transport,
        message_id=message.message_id,
        extra_headers={"Auto-Submitted": "no"},
        ticket_message_id=message.pk,
        attachments=attachment_services.mail_files(files or []),
        thread=(in_reply_to, references),
    )


def ticket_sender(ticket: Ticket, *, mailbox_address: str | None = None) -> tuple[str, str, str]:
    """(from address, Reply-To, transport) for mail on `ticket`: the desk's, or the shop
    mailbox's the ticket came in through (its address and SMTP server). `mailbox_address`: that
    address, when the caller already looked it up."""
    from_address, reply_to, transport = settings.DEFAULT_FROM_EMAIL, reply_address(ticket), ""
    if ticket.mailbox_id is not None:
        if mailbox_address is None:
            mailbox_address = _mailbox_addresses([ticket.mailbox_id]).get(ticket.mailbox_id, "")
        if mailbox_address:
            from_address = reply_to = mailbox_address
            transport = f"mailbox:{ticket.mailbox_id}"
    return from_address, reply_to, transport


def _mailbox_addresses(mailbox_ids: Iterable[int | None]) -> dict[int | None, str]:
    """The addresses of shop mailboxes by id (read through the FK: tickets sit below mailboxes)."""
    ids = {pk for pk in mailbox_ids if pk is not None}
    if not ids:
        return {}
    model = Ticket._meta.get_field("mailbox").related_model
    return dict(model._default_manager.filter(pk__in=ids).values_list("id", "address"))


def _apply_status(ticket: Ticket, status: Status) -> None:
    solving = status == Status.SOLVED and ticket.status != Status.SOLVED
    ticket.status = status
    ticket.solved_at = timezone.now() if status in (Status.SOLVED, Status.CLOSED) else None
    if status not in (Status.NEW, Status.OPEN):
        ticket.customer_waiting_since = None  # pending, solved, closed: nobody waits on us
    waits.refresh_due_times(ticket)  # every STATUS_FIELDS field is now as it must be saved
    if solving:
        # After commit, robust: a reaction (csat asks for a rating) never breaks the solve.
        hooks.ticket_solved.fire_on_commit(ticket_id=ticket.pk)


@dataclass(frozen=True)
class TicketChanges:
    """Fields to change on a ticket in one step; None leaves a field as it is. The assignee is
    changed only with `reassign=True` (then `assignee=None` unassigns)."""

    status: Status | str | None = None
    priority: Priority | str | None = None
    type: TicketType | str | None = None
    subject: str | None = None
    tags: Iterable[str] | None = None
    reassign: bool = False
    assignee: User | None = None
    channel: Channel | str | None = None


def change_ticket(ticket: Ticket, *, by: User, changes: TicketChanges) -> Ticket:
    """Apply `changes` to a ticket in one transaction, under the ticket's row lock, and tell the
    inbox and the ticket's page once (the ticket page's form and the API's PATCH change several
    fields at once; the single-purpose functions below change one)."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        before = _audited_fields(ticket)
        if changes.status is not None:
            _apply_status(ticket, Status(changes.status))
        if changes.priority is not None:
            ticket.priority = Priority(changes.priority)
        if changes.channel is not None:
            ticket.channel = Channel(changes.channel)
        if changes.type is not None:
            ticket.type = TicketType(changes.type)
        if changes.reassign:
            if changes.assignee is not None and not changes.assignee.is_active:
                raise TicketError("The assignee must be an active agent", code="invalid_assignee")
            ticket.assignee = changes.assignee
        if changes.subject is not None:
            ticket.subject = single_line(changes.subject)[:255] or ticket.subject
        waits.refresh_due_times(ticket)  # priority, channel and status move the targets
        ticket.updated_at = timezone.now()
        ticket.save()
        if changes.tags is not None:
            set_tags(ticket, changes.tags)
        changed = diff(before, _audited_fields(ticket, tags=changes.tags))
        if changed:
            record("ticket.updated", obj=ticket, actor=by, changes=changed)
        events.inbox_changed_on_commit(events.ticket_changed(ticket, "updated"))
        send_event_on_commit(events.ticket_group(ticket.pk), events.ticket_updated(ticket, by=by))
        hooks.ticket_updated.fire(ticket=ticket, change="updated", by=by)
    return ticket


def assign_ticket(ticket: Ticket, *, agent: User | None, by: User) -> Ticket:
    """Give the ticket to `agent` (an active agent), or to nobody with None."""
    return change_ticket(ticket, by=by, changes=TicketChanges(reassign=True, assignee=agent))


def set_status(ticket: Ticket, *, status: Status | str, by: User) -> Ticket:
    """Move the ticket to `status`; solving it fires `ticket_solved` (once per solve)."""
    return change_ticket(ticket, by=by, changes=TicketChanges(status=status))


def set_priority(ticket: Ticket, *, priority: Priority | str, by: User) -> Ticket:
    return change_ticket(ticket, by=by, changes=TicketChanges(priority=priority))


def set_type(ticket: Ticket, *, type: TicketType | str, by: User) -> Ticket:
    return change_ticket(ticket, by=by, changes=TicketChanges(type=type))


def rename_ticket(ticket: Ticket, *, subject: str, by: User) -> Ticket:
    return change_ticket(ticket, by=by, changes=TicketChanges(subject=subject))


def retag_ticket(ticket: Ticket, *, tags: Iterable[str], by: User) -> Ticket:
    """Replace the ticket's tags."""
    return change_ticket(ticket, by=by, changes=TicketChanges(tags=list(tags)))


def add_tags(ticket: Ticket, *, by: User | None, names: Iterable[str]) -> Ticket:
    """Add tags to a ticket, keeping the ones it has (a bulk "tag")."""
    return _change_tags(ticket, by=by, add=names, remove=())


def remove_tags(ticket: Ticket, *, by: User | None, names: Iterable[str]) -> Ticket:
    """Take tags off a ticket (a bulk "untag"); a tag it does not have is no error."""
    return _change_tags(ticket, by=by, add=(), remove=names)


def _change_tags(
    ticket: Ticket, *, by: User | None, add: Iterable[str], remove: Iterable[str]
) -> Ticket:
    from django.utils.text import slugify

    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        current = set(ticket.tags.values_list("name", flat=True))
        wanted = (current | {slugify(n)[:50] for n in add if slugify(n)}) - {
            slugify(n)[:50] for n in remove
        }
        if wanted != current:
            record(
                "ticket.updated",
                obj=ticket,
                actor=by,
                changes={"tags": (sorted(current), sorted(wanted))},
            )
            set_tags(ticket, wanted)
            ticket.updated_at = timezone.now()
            ticket.save(update_fields=["updated_at"])
            events.inbox_changed_on_commit(events.ticket_changed(ticket, "updated"))
            send_event_on_commit(
                events.ticket_group(ticket.pk), events.ticket_updated(ticket, by=by)
            )
            hooks.ticket_updated.fire(ticket=ticket, change="tags", by=by)
    return ticket


def _audited_fields(ticket: Ticket, *, tags: Iterable[str] | None = None) -> dict[str, object]:
    fields: dict[str, object] = {
        "status": ticket.status,
        "priority": ticket.priority,
        "type": ticket.type,
        "channel": ticket.channel,
        "assignee": ticket.assignee_id,
        "subject": ticket.subject,
    }
    if tags is not None:
        fields["tags"] = sorted(ticket.tags.values_list("name", flat=True))
    return fields


def set_tags(ticket: Ticket, names: Iterable[str]) -> None:
    from django.utils.text import slugify

    slugs = sorted({slugify(n)[:50] for n in names if slugify(n)})
    existing = {t.name: t for t in Tag.objects.filter(name__in=slugs)}
    for slug in slugs:
        if slug not in existing:
            existing[slug], _ = Tag.objects.get_or_create(name=slug)
    ticket.tags.set([existing[s] for s in slugs])


NEXT_BUSINESS_MORNING = "next_business_morning"


def next_business_morning() -> datetime:
    """The first opening after today under business hours (a follow-up or a care outreach set
    to "next business morning"): the `next_business_morning` lookup, which hours answers."""
    answer: datetime | None = hooks.next_business_morning.ask()
    if answer is None:
        raise TicketError("Business hours are not available", code="no_business_hours")
    return answer


def schedule_follow_up(
    ticket: Ticket, *, by: User | None, send_at: datetime, body: str
) -> FollowUp:
    """Store a reply to send at `send_at`; the follow-up sweep sends it exactly once."""
    body = body.strip()
    if not body:
        raise TicketError("A follow-up needs a body", code="empty_body")
    if timezone.is_naive(send_at):
        raise TicketError("send_at must include a timezone", code="naive_datetime")
    follow_up = FollowUp.objects.create(ticket=ticket, body=body, send_at=send_at, created_by=by)
    record(
        "follow_up.scheduled",
        obj=follow_up,
        actor=by,
        detail={"ticket": ticket.pk, "send_at": send_at},
    )
    send_event_on_commit(events.ticket_group(ticket.pk), events.ticket_updated(ticket, by=by))
    # Due before beat's next tick: the tick would send it up to a sweep interval late.
    if timezone.now() < send_at <= timezone.now() + follow_up_timer_window():
        transaction.on_commit(lambda: arm_follow_up_timer(send_at))
    return follow_up


def cancel_follow_up(follow_up: FollowUp) -> bool:
    return bool(
        FollowUp.objects.filter(pk=follow_up.pk, status=FollowUpStatus.SCHEDULED).update(
            status=FollowUpStatus.CANCELLED
        )
    )


# Follow-up timers. Beat's sweep alone sends a follow-up promised for 9:00 up to
# SUPPORTDESK_SWEEP_SECONDS late (bench/followups.py: ~0.5 s of 7 s at a 1 s interval, more at the
# production default). So whenever the sweep runs, and when a follow-up is stored, the earliest
# follow-up due before the next tick arms ONE Celery task with an `eta` at its instant. That eta is
# shorter than the sweep interval, far below Redis' visibility timeout (CELERY_BROKER_TRANSPORT_
# OPTIONS, 1 hour), so TRAPS.md's "eta longer than the visibility timeout runs twice" trap does
# not apply; and the timer is only a hint: it runs the advisory-locked follow-up sweep, the rows
# stay the record, so a timer that runs twice, early, late or never costs nothing but latency.
FOLLOW_UP_TIMER_KEY = "tickets:follow-up-timer:{}"


def follow_up_timer_window() -> timedelta:
    return timedelta(seconds=float(settings.SUPPORTDESK_SWEEP_SECONDS))


def arm_follow_up_timer(due: datetime | None = None) -> bool:
    """Arm the follow-up task at `due` (default: the earliest follow-up due after now and before
    the next sweep tick). One timer per instant: thousands of follow-ups due at 9:00 arm one.
    Never raises: the next beat tick sends them anyway. Returns whether a task was sent."""
    from tickets.tasks import send_follow_ups_at

    if send_follow_ups_at.app.conf.task_always_eager:
        return False  # embedded profile: no broker to hold a timer; its sweep thread sends them
    window = follow_up_timer_window()
    try:
        if due is None:
            now = timezone.now()
            due = (
                FollowUp.objects.filter(
                    status=FollowUpStatus.SCHEDULED, send_at__gt=now, send_at__lte=now + window
                )
                .order_by("send_at")
                .values_list("send_at", flat=True)
                .first()
            )
            if due is None:
                return False
        key = FOLLOW_UP_TIMER_KEY.format(due.timestamp())
        from django.core.cache import cache

        try:
            # A bit over the interval: by then the instant is past and the sweep has it.
            if not cache.add(key, 1, timeout=int(window.total_seconds()) + 5):
                return False
        except Exception:  # the cache is a hint too; without it, arm anyway
            key = ""
        try:
            # A timer picked up later than one interval after its instant is pointless: the
            # sweep has sent them by then (e.g. restored after a worker crash).
            send_follow_ups_at.apply_async(eta=due, expires=due + window)
        except Exception:
            if key:
                with contextlib.suppress(Exception):
                    cache.delete(key)  # let the next sweep try again
            raise
        return True
    except Exception:
        log.warning("Could not arm the follow-up timer at %s", due, exc_info=True)
        return False


FOLLOW_UP_BATCH = 500
# pg_try_advisory_lock key: "follow-ups" in ASCII.
_CONVERTER_LOCK = 0x666F6C6C6F777570


@contextlib.contextmanager
def follow_up_converter() -> Iterator[bool]:
    """Whether this sweeper is the one converting follow-ups now (a Postgres session advisory
    lock, released on exit or when a killed worker's connection ends). Without Postgres, always."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_CONVERTER_LOCK])
        mine = bool(cursor.fetchone()[0])
    try:
        yield mine
    finally:
        if mine:
            with contextlib.suppress(Exception), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_CONVERTER_LOCK])


def send_due_follow_ups(
    *, limit: int = 2000, batch_size: int = FOLLOW_UP_BATCH, max_seconds: float | None = None
) -> int:
    """Turn due follow-ups into replies, `batch_size` per transaction, at most `limit` per call
    (and no new batch after `max_seconds`).

    Claim, replies, email rows and `sent` marks of a batch commit together: exactly once. Several
    sweepers run batches side by side (SKIP LOCKED), never sharing a follow-up.
    """
    import time

    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    sent = 0
    while sent < limit and (deadline is None or time.monotonic() < deadline):
        done = _send_follow_up_batch(min(batch_size, limit - sent))
        sent += done
        if done == 0:
            break
    return sent


@dataclass
class _FollowUpBatch:
    """One batch of due follow-ups, locked, with everything sending them needs, read in bulk."""

    follow_ups: Sequence[tuple[int, int, str, int | None]]  # (id, ticket_id, body, created_by_id)
    tickets: dict[int, Ticket]  # locked, in id order
    users: dict[int, User]  # the follow-ups' authors and the tickets' assignees
    fallback: User | None  # sends when a follow-up has neither an author nor an assignee
    addresses: dict[int, str]  # customer id -> primary address (Customer.primary_email)
    threads: dict[int, list[str]]  # ticket id -> the Message-IDs of its thread so far

    def sender(self, created_by_id: int | None, ticket: Ticket) -> User | None:
        """Who sends a follow-up: its author, else the ticket's assignee, else the fallback."""
        for user_id in (created_by_id, ticket.assignee_id):
            if user_id is not None and user_id in self.users:
                return self.users[user_id]
        return self.fallback


@dataclass
class _FollowUpReply:
    follow_up_id: int
    author: User
    message: Message
    in_reply_to: str
    references: str


def _send_follow_up_batch(size: int) -> int:
    """One batch: what `add_agent_reply` does per follow-up, in a constant number of statements
    (bench/followups.py: one transaction and three publishes per follow-up capped throughput).
    Rows are read as plain values and written with one INSERT/UPDATE ... unnest(...) per table:
    building and saving model objects row by row cost about as much as the rest of the batch.
    One transaction: the claim, the replies, the email rows and the `sent` marks commit together."""
    now = timezone.now()
    with transaction.atomic(), waits.one_hours_read():
        batch = _lock_follow_up_batch(size, now=now)
        if batch is None:
            return 0
        replies = _compose_follow_up_replies(batch, now=now)
        if replies:
            _store_follow_up_replies(batch, replies, now=now)
    return len(replies)


def _lock_follow_up_batch(size: int, *, now: datetime) -> _FollowUpBatch | None:
    """Claim up to `size` due follow-ups (SKIP LOCKED: batches side by side never share one) and
    lock their tickets, then read the authors, addresses and threads; None when nothing is due."""
    from customers.models import CustomerEmail

    follow_ups = list(
        FollowUp.objects.select_for_update(skip_locked=True)
        .filter(status=FollowUpStatus.SCHEDULED, send_at__lte=now)
        .order_by("send_at", "id")
        .values_list("id", "ticket_id", "body", "created_by_id")[:size]
    )
    if not follow_ups:
        return None
    # The tickets are locked like add_agent_reply locks one, in id order so two batches (or a
    # batch and a customer's reply) never deadlock.
    tickets = {
        t.pk: t
        for t in Ticket.objects.select_for_update()
        .filter(pk__in={ticket_id for _, ticket_id, _, _ in follow_ups})
        .order_by("pk")
    }
    users = User.objects.in_bulk(
        {by for _, _, _, by in follow_ups if by is not None}
        | {t.assignee_id for t in tickets.values() if t.assignee_id is not None}
    )
    fallback: User | None = None
    if any(by is None and tickets[t].assignee_id is None for _, t, _, by in follow_ups):
        fallback = User.objects.filter(is_active=True).order_by("id").first()
    # Each customer's primary address (batched: the primary one, else the first), and every
    # ticket's thread so far (thread_headers, batched).
    addresses: dict[int, str] = {}
    for customer_id, address in (
        CustomerEmail.objects.filter(customer_id__in={t.customer_id for t in tickets.values()})
        .order_by("customer_id", "-is_primary", "id")
        .values_list("customer_id", "address")
    ):
        addresses.setdefault(customer_id, address)
    threads: dict[int, list[str]] = {pk: [] for pk in tickets}
    for ticket_id, message_id in (
        Message.objects.filter(ticket_id__in=tickets)
        .exclude(message_id="")
        .order_by("ticket_id", "created_at", "id")
        .values_list("ticket_id", "message_id")
    ):
        threads[ticket_id].append(message_id)
    return _FollowUpBatch(follow_ups, tickets, users, fallback, addresses, threads)


def _compose_follow_up_replies(batch: _FollowUpBatch, *, now: datetime) -> list[_FollowUpReply]:
    """Each follow-up as an agent reply (unsaved), its ticket updated in memory as
    `add_agent_reply` would; a follow-up with nobody to send as stays scheduled."""
    replies = []
    for follow_up_id, ticket_id, body, created_by_id in batch.follow_ups:
        ticket = batch.tickets[ticket_id]
        author = batch.sender(created_by_id, ticket)
        if author is None:
            log.warning("Follow-up %s has no agent to send as; left scheduled", follow_up_id)
            continue
        ids = batch.threads[ticket.pk]
        in_reply_to, references = email_thread(ids)
        message = Message(
            ticket=ticket,
            author_type=AuthorType.AGENT,
            author_user=author,
            channel=Channel.EMAIL,
            body_text=body.strip(),
            message_id=make_message_id(),
            in_reply_to=in_reply_to,
            references=references,
            created_at=now,
        )
        ids.append(message.message_id)  # a second follow-up on the ticket replies to this one
        _append_search_text(ticket, message.body_text)
        _note_message(
            ticket,
            author_type=AuthorType.AGENT,
            internal=False,
            is_auto_reply=False,
            text=message.body_text,
            at=now,
        )
        ticket.updated_at = ticket.last_message_at = now
        if ticket.assignee_id is None:
            ticket.assignee = author
        if ticket.status == Status.NEW:
            _apply_status(ticket, Status.PENDING)
        replies.append(_FollowUpReply(follow_up_id, author, message, in_reply_to, references))
    return replies


def _store_follow_up_replies(
    batch: _FollowUpBatch, replies: list[_FollowUpReply], *, now: datetime
) -> None:
    """Insert the replies, queue their emails, mark the follow-ups sent and the tickets changed,
    in bulk; publish after commit."""
    _insert_agent_messages([reply.message for reply in replies], now)
    mailbox_addresses = _mailbox_addresses(t.mailbox_id for t in batch.tickets.values())
    emails = [
        _reply_email(
            reply.message.ticket,
            reply.message,
            by=reply.author,
            in_reply_to=reply.in_reply_to,
            references=reply.references,
            to=batch.addresses.get(reply.message.ticket.customer_id, ""),
            mailbox_address=mailbox_addresses.get(reply.message.ticket.mailbox_id, ""),
        )
        for reply in replies
    ]
    queue_emails([email for email in emails if email is not None])
    touched = list({r.message.ticket_id: r.message.ticket for r in replies}.values())
    _mark_follow_ups_sent(touched, [(r.follow_up_id, r.message.pk) for r in replies], now)
    # Realtime, after commit: one inbox event for the batch (the inbox re-fetches once) and a
    # message event per ticket for pages that have it open, published in one event-loop hop.
    published: list[tuple[str, Mapping[str, Any]]] = [
        (events.ticket_group(reply.message.ticket_id), events.message_added(reply.message))
        for reply in replies
    ]
    published.append((events.INBOX_GROUP, events.tickets_changed(touched, "reply")))
    transaction.on_commit(events.bump_counts)
    transaction.on_commit(lambda: _publish_all(published))


_BATCH_WAIT_FIELDS = [
    "last_message_preview",
    "customer_waiting_since",
    "first_responded_at",
    *waits.WAIT_FIELDS,
]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _mark_follow_ups_sent(
    touched: list[Ticket], sent: list[tuple[int, int]], now: datetime
) -> None:
    """Store the batch's tickets (as updated above) and mark its follow-ups sent with their
    message ids (`sent`: (follow-up id, message id) pairs)."""
    if connection.vendor != "postgresql":  # the embedded profile's SQLite: a handful at a time
        Ticket.objects.bulk_update(
            touched,
            [
                "updated_at",
                "last_message_at",
                "search_document",
                "assignee",
                "status",
                "solved_at",
                *_BATCH_WAIT_FIELDS,
            ],
        )
        for follow_up_id, message_id in sent:
            FollowUp.objects.filter(pk=follow_up_id).update(
                status=FollowUpStatus.SENT, message_id=message_id
            )
        return
    # One UPDATE ... FROM a JSON document each: bulk_update's CASE WHEN per row and column
    # cost more Python than everything else in the batch, and psycopg's text arrays escape
    # every element (search documents up to 20,000 characters) with a regex.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Ticket._meta.db_table} AS t SET updated_at = %s, last_message_at = %s,"  # noqa: S608 (a model's table name)
            " search_document = v.doc, assignee_id = v.assignee, status = v.status,"
            " solved_at = v.solved, last_message_preview = v.preview,"
            " customer_waiting_since = v.waiting, first_responded_at = v.responded,"
            " first_response_due_at = v.first_due, resolution_due_at = v.resolution_due"
            " FROM json_to_recordset(%s::json)"
            " AS v(id bigint, doc text, assignee bigint, status text, solved timestamptz,"
            " preview text, waiting timestamptz, responded timestamptz, first_due timestamptz,"
            " resolution_due timestamptz)"
            " WHERE t.id = v.id",
            [
                now,
                now,
                json.dumps(
                    [
                        {
                            "id": t.pk,
                            "doc": t.search_document,
                            "assignee": t.assignee_id,
                            "status": str(t.status),
                            "solved": _iso(t.solved_at),
                            "preview": t.last_message_preview,
                            "waiting": _iso(t.customer_waiting_since),
                            "responded": _iso(t.first_responded_at),
                            "first_due": _iso(t.first_response_due_at),
                            "resolution_due": _iso(t.resolution_due_at),
                        }
                        for t in touched
                    ]
                ),
            ],
        )
        cursor.execute(
            f"UPDATE {FollowUp._meta.db_table} AS f SET status = %s, message_id = v.message"  # noqa: S608
            " FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, message) WHERE f.id = v.id",
            [
                FollowUpStatus.SENT.value,
                [follow_up_id for follow_up_id, _ in sent],
                [message_id for _, message_id in sent],
            ],
        )


# The columns of an agent's email reply (every other column of Message at its model default),
# read from one JSON document; a new NOT NULL column of Message must be added here.
_INSERT_AGENT_MESSAGES = (
    f"INSERT INTO {Message._meta.db_table} (ticket_id, author_type, author_user_id,"  # noqa: S608 (a model's table name)
    " author_customer_id, internal, channel, body_text, body_html, message_id, in_reply_to,"
    ' "references", is_auto_reply, created_at)'
    " SELECT v.ticket, %s, v.author, NULL, false, %s, v.body, '', v.mid, v.irt, v.refs, false, %s"
    " FROM json_to_recordset(%s::json)"
    " AS v(ticket bigint, author bigint, body text, mid text, irt text, refs text)"
    " RETURNING id, message_id"
)


def _insert_agent_messages(messages: list[Message], now: datetime) -> None:
    """Insert public agent email replies built as in the batch above, setting their pks."""
    if connection.vendor != "postgresql":  # the embedded profile's SQLite
        Message.objects.bulk_create(messages)
        return
    document = json.dumps(
        [
            {
                "ticket": m.ticket_id,
                "author": m.author_user_id,
                "body": m.body_text,
                "mid": m.message_id,
                "irt": m.in_reply_to,
                "refs": m.references,
            }
            for m in messages
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_AGENT_MESSAGES, [AuthorType.AGENT.value, Channel.EMAIL.value, now, document]
        )
        ids = {message_id: pk for pk, message_id in cursor.fetchall()}
    for message in messages:
        message.pk = ids[message.message_id]
        message._state.adding = False
        message._state.db = connection.alias


_publisher: ThreadPoolExecutor | None = None


def _publish_all(published: list[tuple[str, Mapping[str, Any]]]) -> None:
    """Hand a batch's events to a background thread: a sweep converting thousands of follow-ups
    does not wait on Redis round trips for hints (a lost one only costs a client's resync)."""
    global _publisher
    if _publisher is None:
        _publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="follow-up-events")
    _publisher.submit(_publish_now, published)


def _publish_now(published: list[tuple[str, Mapping[str, Any]]]) -> None:
    try:
        async_to_sync(asend_events)(published)  # one Redis pipeline for the batch
    except Exception:  # a hint, never the record: clients resync from the database
        log.warning("Could not publish %s follow-up events", len(published), exc_info=True)


VIEWER_TTL = timedelta(seconds=45)


def touch_viewer(ticket: Ticket, *, user: User) -> list[User]:
    """Record that `user` has `ticket` open, tell the ticket's viewers who has it open now (the
    collision warning), and return the other agents who have it open."""
    from tickets.models import TicketView

    now = timezone.now()
    TicketView.objects.update_or_create(ticket=ticket, user=user, defaults={"seen_at": now})
    others = [
        view.user
        for view in TicketView.objects.filter(ticket=ticket, seen_at__gte=now - VIEWER_TTL)
        .exclude(user=user)
        .select_related("user")
    ]
    send_event_on_commit(
        events.ticket_group(ticket.pk), events.viewers_changed(ticket.pk, [user, *others])
    )
    return others


def leave_viewer(ticket_id: int, *, user: User) -> None:
    """`user` closed the ticket: drop them from its viewers at once (presence is not a record:
    this spares the others 45 s of a stale warning) and tell those left."""
    from tickets.models import TicketView

    TicketView.objects.filter(ticket_id=ticket_id, user=user).delete()
    if not Ticket.objects.filter(pk=ticket_id).exists():
        return
    recent = TicketView.objects.filter(
        ticket_id=ticket_id, seen_at__gte=timezone.now() - VIEWER_TTL
    ).select_related("user")
    send_event_on_commit(
        events.ticket_group(ticket_id), events.viewers_changed(ticket_id, [v.user for v in recent])
    )


def move_customer_tickets(*, source_id: int, into_id: int) -> None:
    """The `customer_merged` receiver: the merged customer's tickets move to the one kept."""
    Ticket.objects.filter(customer_id=source_id).update(customer_id=into_id)


def mark_read(ticket_id: int, *, user: User) -> None:
    """The agent opened the ticket: its customer messages until now are read for them (one
    upserted row per agent and ticket; the inbox shows a ticket unread while the customer's
    last message is newer than it)."""
    TicketRead.objects.bulk_create(  # one upsert statement
        [TicketRead(user=user, ticket_id=ticket_id, read_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["user", "ticket"],
        update_fields=["read_at"],
    )


def unread_ids(
    ticket_ids: Iterable[int], *, user: User, rows: Mapping[int, datetime | None]
) -> set[int]:
    """Which of the tickets have a customer message `user` has not opened since (`rows`: each
    ticket's `last_customer_message_at`). One indexed query for a page."""
    latest = {pk: at for pk in ticket_ids if (at := rows.get(pk)) is not None}
    ids = list(latest)
    if not ids:
        return set()
    read = dict(
        TicketRead.objects.filter(user=user, ticket_id__in=ids).values_list("ticket_id", "read_at")
    )
    return {pk for pk in ids if pk not in read or read[pk] < latest[pk]}
