"""Out of hours, a customer who writes in gets one email saying when someone will answer.

The `customer_wrote_in` hook (fired by tickets.services.create_ticket after commit, for tickets a
customer opened by email, an IMAP mailbox, /support/new or the widget's offline form) calls
`acknowledge_out_of_hours`. The email:
- goes only while the shop is closed, and says when it opens again (in words and time, in the
  shop's timezone, in the customer's language when known);
- is threaded into the ticket (`[#ref]`, In-Reply-To/References, the ticket's reply address or
  the shop mailbox it came in through) and marked `Auto-Submitted: auto-replied` (RFC 3834);
- is never sent to automatic mail (auto-replies, bounces, lists: `no_auto_answer` from the
  inbound parser), to no-reply senders, to our own addresses, for spam or blocked senders
  (`tickets.spam.is_quiet` / `is_blocked`);
- goes at most once per customer per local day: the `Acknowledgement` row's unique constraint
  decides, in the transaction that queues the email, so two mails racing in send one.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.emails import render_email
from hours import services
from hours.models import Acknowledgement
from mailer.services import queue_emails
from tickets import spam
from tickets.inbound import is_no_reply_address
from tickets.models import Ticket
from tickets.services import thread_email, ticket_sender

log = logging.getLogger(__name__)

TEMPLATE = "out-of-hours-ack"
# RFC 3834: an automatic answer to a person's message; autoresponders must not answer it.
HEADERS = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}


def customer_wrote_in(*, ticket_id: int, message_id: int, no_auto_answer: str) -> None:
    """The `customer_wrote_in` receiver."""
    acknowledge_out_of_hours(ticket_id=ticket_id, no_auto_answer=no_auto_answer)


def acknowledge_out_of_hours(
    *, ticket_id: int, no_auto_answer: str = "", at: datetime | None = None
) -> Acknowledgement | None:
    """Queue the acknowledgement for a ticket the customer just opened, if one is due; the row
    recording it, or None (open now, nothing may answer, or acknowledged today already)."""
    now = at or timezone.now()
    if no_auto_answer:
        log.info("Ticket %s: no out-of-hours acknowledgement (%s)", ticket_id, no_auto_answer)
        return None
    ticket = Ticket.objects.select_related("customer").filter(pk=ticket_id).first()
    if ticket is None or spam.is_quiet(ticket):
        return None
    hours = services.current()
    if services.is_open(hours, at=now):
        return None
    to = ticket.customer.primary_email
    if not to or not may_answer(to):
        return None
    zone = ZoneInfo(hours.timezone)
    opens_at = services.next_open_at(hours, at=now)
    email = _email(ticket, to=to, opens_at=opens_at, zone=zone, now=now)
    try:
        with transaction.atomic():
            ack = Acknowledgement.objects.create(
                customer=ticket.customer,
                day=now.astimezone(zone).date(),
                ticket=ticket,
                opens_at=opens_at,
                sent_at=now,
            )
            queue_emails([email])
    except IntegrityError:
        log.info("Ticket %s: customer acknowledged out of hours today already", ticket_id)
        return None
    return ack


def may_answer(address: str) -> bool:
    """Whether an automatic answer may go to `address`: not a no-reply or bounce address, not
    one of ours (a loop), not a blocked sender."""
    address = address.strip().lower()
    own = {parseaddr(a)[1].lower() for a in (settings.DEFAULT_FROM_EMAIL,
                                              settings.SUPPORTDESK_REPLY_ADDRESS) if a}  # fmt: skip
    return not (is_no_reply_address(address) or address in own or spam.is_blocked(address))


def _language(ticket: Ticket) -> str:
    known = {code for code, _name in settings.LANGUAGES}
    language = getattr(ticket.customer, "language", "") or settings.LANGUAGE_CODE
    return language if language in known else settings.LANGUAGE_CODE


def _email(ticket: Ticket, *, to: str, opens_at: datetime | None, zone: ZoneInfo, now: datetime):
    local_now = now.astimezone(zone)
    local_open = opens_at.astimezone(zone) if opens_at is not None else None
    days_ahead = (local_open.date() - local_now.date()).days if local_open else None
    context = {
        "ticket": ticket,
        "customer_name": ticket.customer.display_name,
        "company": settings.SUPPORTDESK_COMPANY_NAME,
        "opens_at": local_open,
        "opens_today": days_ahead == 0,
        "opens_tomorrow": days_ahead == 1,
        "opens_within_week": days_ahead is not None and 1 < days_ahead < 7,
        "timezone_name": zone.key,
    }
    with timezone.override(zone):
        rendered = render_email(TEMPLATE, context, language=_language(ticket))
    from_address, reply_to, transport = ticket_sender(ticket)
    return thread_email(
        ticket,
        to=to,
        subject=rendered.subject,
        body_text=rendered.body_text,
        body_html=rendered.body_html,
        from_email=f'"{settings.SUPPORTDESK_COMPANY_NAME.replace(chr(34), "")}" <{from_address}>',
        reply_to=reply_to,
        transport=transport,
        extra_headers=HEADERS,
    )
