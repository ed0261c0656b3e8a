"""Inbound email: store the raw bytes first, then parse, thread and file the message on a ticket.

Nothing accepted is lost: `ingest_raw_email` commits an `InboundEmail` row with the raw bytes before
it parses anything. Parsing and filing run in a second transaction that locks that row, so a
concurrent duplicate delivery (same Message-ID and content hash, caught by the `inbound_dedupe`
constraint) waits for the first one and then reports its result instead of filing the mail twice.
A parse failure marks the row `failed` with the error; an admin can read the raw mail and retry it
(`reprocess`, the admin action, `manage.py retry_inbound`).

Nothing here sends mail: auto-replies, bounces and list mail are stored with `is_auto_reply` and
never reopen a ticket, so a mail loop has nothing to feed on.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.message import Message as MimeMessage
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from typing import TypedDict

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q

from attachments.models import Source
from attachments.services import AttachmentError, clean_filename, create_attachment
from core import languages
from core.emails import single_line
from customers.models import Customer
from customers.services import customer_for_email
from tickets import services, spam
from tickets.merging import survivor_of
from tickets.models import (
    AuthorType,
    Channel,
    InboundEmail,
    InboundStatus,
    Message,
    Status,
    Ticket,
)

log = logging.getLogger(__name__)

# Bounds on what one hostile header can make us do.
MAX_THREAD_IDS = 50
MAX_ADDRESS_LENGTH = 254  # CustomerEmail.address is an EmailField
_MSGID = re.compile(r"<[^<>\s]{1,250}>")
_SUBJECT_TOKEN = re.compile(r"\[#([a-z0-9]{4,16})\]", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class UnparseableEmail(ValueError):
    """The raw bytes are not a mail we can file (no sender, garbage); kept for an admin."""


@dataclass(frozen=True)
class IngestResult:
    inbound_id: int
    ticket_id: int | None
    message_id: int | None
    created: bool
    status: str
    duplicate: bool
    error: str = ""
    # A database error (locked, restarting, unreachable): nothing wrong with the mail, try again.
    temporary: bool = False


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""


@dataclass
class ParsedEmail:
    from_address: str
    from_name: str
    subject: str
    message_id: str
    in_reply_to: str
    references: list[str]
    body_text: str
    body_html: str
    auto_reason: str
    reply_tokens: list[str]
    # The sender's language from Content-Language (else Accept-Language), one we speak; "" if none.
    language: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    # Why nothing automatic (an out-of-hours acknowledgement) may answer this mail: the
    # auto_reason, or a sender that asks for no automatic answers (a list, a no-reply address).
    no_auto_answer: str = ""


def sign(body: bytes, secret: str) -> str:
    """The X-Supportdesk-Signature value a sender must send with `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- entry points ---------------------------------------------------------------------------------


def ingest_raw_email(raw: bytes, *, source: str, mailbox_id: int | None = None) -> IngestResult:
    """Store `raw`, then file it on a ticket. Never raises for bad mail: see `IngestResult.status`.
    `mailbox_id`: the shop mailbox it was fetched from; a new ticket records it."""
    content_hash = hashlib.sha256(raw).hexdigest()
    header_id = _header_message_id(raw)
    try:
        with transaction.atomic():
            inbound = InboundEmail.objects.create(
                raw=raw,
                source=source[:16],
                message_id=header_id,
                content_hash=content_hash,
                mailbox_id=mailbox_id,
            )
    except IntegrityError:
        # The same mail again (a retrying MTA, a double webhook): report what the first one did.
        existing = InboundEmail.objects.get(message_id=header_id, content_hash=content_hash)
        return _process(existing.pk, duplicate=True)
    return _process(inbound.pk, duplicate=False)


def keep_unfiled(
    raw: bytes, *, source: str, error: str, mailbox_id: int | None = None
) -> IngestResult:
    """Store `raw` without filing it (e.g. over the size limit): a failed row with `error` that an
    admin sees and can retry. The same bytes again report the first row."""
    content_hash = hashlib.sha256(raw).hexdigest()
    header_id = _header_message_id(raw)
    try:
        with transaction.atomic():
            inbound = InboundEmail.objects.create(
                raw=raw,
                source=source[:16],
                message_id=header_id,
                content_hash=content_hash,
                mailbox_id=mailbox_id,
                status=InboundStatus.FAILED,
                error=error[:2000],
            )
        duplicate = False
    except IntegrityError:
        inbound = InboundEmail.objects.get(message_id=header_id, content_hash=content_hash)
        duplicate = True
    return _result(inbound, created=False, duplicate=duplicate)


def reprocess(inbound: InboundEmail) -> IngestResult:
    """Retry a failed (or stuck) inbound mail; one already filed just reports its result."""
    return _process(inbound.pk, duplicate=False, retry=True)


# --- processing -----------------------------------------------------------------------------------


def _result(inbound: InboundEmail, *, created: bool, duplicate: bool) -> IngestResult:
    return IngestResult(
        inbound_id=inbound.pk,
        ticket_id=inbound.ticket_id,
        message_id=inbound.ticket_message_id,
        created=created,
        status=inbound.status,
        duplicate=duplicate,
        error=inbound.error,
    )


def _process(inbound_pk: int, *, duplicate: bool, retry: bool = False) -> IngestResult:
    try:
        with transaction.atomic():
            # The row lock serialises concurrent deliveries of the same mail: one files it, the
            # others wait here and then see a finished row.
            inbound = InboundEmail.objects.select_for_update().get(pk=inbound_pk)
            workable = {InboundStatus.RECEIVED} | ({InboundStatus.FAILED} if retry else set())
            if duplicate and inbound.status == InboundStatus.FAILED:
                # A redelivery of a failed mail is a free retry (the failure may have been transient).
                workable.add(InboundStatus.FAILED)
            if inbound.status not in workable:
                return _result(inbound, created=False, duplicate=duplicate)
            parsed = parse_email(bytes(inbound.raw))
            ticket, message, created = _file(parsed, mailbox_id=inbound.mailbox_id)
            inbound.status = InboundStatus.PROCESSED
            inbound.error = ""
            inbound.ticket = ticket
            inbound.ticket_message = message
            inbound.attempts += 1
            inbound.save(update_fields=["status", "error", "ticket", "ticket_message", "attempts"])
            return _result(inbound, created=created, duplicate=duplicate)
    except UnparseableEmail as exc:
        error = str(exc)
    except (OperationalError, InterfaceError) as exc:
        # Temporary (a locked SQLite file, a Postgres restart): the raw row is kept; the sender is
        # told to retry (503), and a redelivery of a failed mail is filed again.
        log.warning("Inbound email %s not filed, database unavailable: %s", inbound_pk, exc)
        with contextlib.suppress(OperationalError, InterfaceError):
            InboundEmail.objects.filter(pk=inbound_pk).update(
                status=InboundStatus.FAILED,
                error=f"Temporary: {type(exc).__name__}: {exc}"[:2000],
                attempts=F("attempts") + 1,
            )
        return IngestResult(
            inbound_id=inbound_pk,
            ticket_id=None,
            message_id=None,
            created=False,
            status=InboundStatus.FAILED,
            duplicate=duplicate,
            error=str(exc),
            temporary=True,
        )
    except Exception as exc:
        # A bug must not lose the mail: the raw row stays, marked failed.
        log.exception("Inbound email %s could not be filed", inbound_pk)
        error = f"{type(exc).__name__}: {exc}"
    InboundEmail.objects.filter(pk=inbound_pk).update(
        status=InboundStatus.FAILED, error=error[:2000], attempts=F("attempts") + 1
    )
    return _result(InboundEmail.objects.get(pk=inbound_pk), created=False, duplicate=duplicate)


class _MessageFields(TypedDict):
    """What a filed email's message carries, whether it opens a ticket or joins one."""

    body_text: str
    body_html: str
    channel: Channel
    message_id: str
    in_reply_to: str
    references: str
    is_auto_reply: bool


def _file(parsed: ParsedEmail, *, mailbox_id: int | None = None) -> tuple[Ticket, Message, bool]:
    """Find or create the customer and the ticket, add the message and its attachments."""
    language = "" if parsed.auto_reason else parsed.language  # an autoresponder's says nothing
    customer = customer_for_email(parsed.from_address, name=parsed.from_name, language=language)
    ticket = find_ticket(parsed, customer=customer)
    blocked = spam.is_blocked(parsed.from_address)
    if blocked and ticket is not None and ticket.status != Status.SPAM:
        ticket = None  # a blocked sender never reopens a ticket: their mail opens one as spam
    is_auto = bool(parsed.auto_reason)
    common: _MessageFields = {
        "body_text": parsed.body_text,
        "body_html": parsed.body_html,
        "channel": Channel.EMAIL,
        "message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to,
        "references": " ".join(parsed.references),
        "is_auto_reply": is_auto,
    }
    if ticket is not None:
        message = services.add_customer_message(ticket, customer=customer, **common)
        created = False
    else:
        ticket, message = services.create_ticket(
            services.NewTicket(
                customer=customer,
                subject=parsed.subject,
                mailbox_id=mailbox_id,
                spam=blocked,
                no_auto_answer=parsed.no_auto_answer,
                **common,
            )
        )
        created = True
    notes = list(parsed.dropped)
    for item in parsed.attachments:
        try:
            create_attachment(
                content=item.content,
                filename=item.filename,
                source=Source.EMAIL,
                ticket_id=ticket.pk,
                message_id=message.pk,
                content_id=item.content_id,
                max_bytes=settings.SUPPORTDESK_MAX_ATTACHMENT_BYTES,
                embedded_message=item.content_type == "message/rfc822",
            )
        except AttachmentError as exc:  # empty parts: nothing to keep, but say so
            notes.append(f"Attachment {item.filename!r} was not stored: {exc}.")
    if is_auto:
        notes.append(f"Recognised as automatic mail ({parsed.auto_reason}); not answered.")
    if notes:
        # Internal and from the system: the agent sees why something is missing, the customer never.
        services._add_message(
            ticket,
            author_type=AuthorType.SYSTEM,
            body_text="\n".join(notes),
            internal=True,
            channel=Channel.EMAIL,
        )
    return ticket, message, created


def find_ticket(parsed: ParsedEmail, *, customer: Customer) -> Ticket | None:
    """Thread a mail onto one of the sender's tickets, or None for a new ticket.

    Every rule is scoped to the sender's customer: a stranger who copies a Message-ID, a reply
    address or a subject token opens a ticket of their own instead of writing into someone else's.
    """
    ids = [i for i in [parsed.in_reply_to, *parsed.references] if i]
    if ids:
        # A merged ticket's messages moved to its survivor, which may be another customer's
        # ticket: the sender's own merged ticket pointing at it still scopes the match.
        message = (
            Message.objects.filter(message_id__in=ids[:MAX_THREAD_IDS])
            .filter(Q(ticket__customer=customer) | Q(ticket__merged_from__customer=customer))
            .select_related("ticket")
            .order_by("-created_at", "-id")
            .first()
        )
        if message is not None:
            return survivor_of(message.ticket)
    for token in parsed.reply_tokens:
        ticket = Ticket.objects.filter(reference=token.lower(), customer=customer).first()
        if ticket is not None:
            return survivor_of(ticket)
    match = _SUBJECT_TOKEN.search(parsed.subject)
    if match:
        ticket = Ticket.objects.filter(reference=match.group(1).lower(), customer=customer).first()
        return survivor_of(ticket) if ticket is not None else None
    return None


# --- parsing --------------------------------------------------------------------------------------


def _header_message_id(raw: bytes) -> str:
    """The Message-ID for the dedupe row, read from the headers only (never fails)."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        value = str(headers.get("Message-ID", "") or "")
    except Exception:
        return ""
    return _first_msgid(value)


def _first_msgid(value: str) -> str:
    match = _MSGID.search(value)
    if match:
        return match.group(0)[:255]
    return _clean_line(value)[:255]


def _clean_line(value: str) -> str:
    """One line, no control characters: a CR/LF in a header never becomes a header of its own."""
    return _CONTROL.sub("", re.sub(r"\s+", " ", single_line(value))).strip()


def _raw_header(msg: MimeMessage, name: str) -> list[str]:
    """Header values as received, without running the (slow, sometimes fragile) structured parser."""
    wanted = name.lower()
    return [str(v) for k, v in msg.raw_items() if k.lower() == wanted]


def _header(msg: MimeMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:
        values = _raw_header(msg, name)
        value = values[0] if values else None
    return "" if value is None else str(value)


def _sender(msg: MimeMessage) -> tuple[str, str]:
    try:
        header = msg.get("From")
        addresses = list(getattr(header, "addresses", ()) or ())
    except Exception:
        header, addresses = None, []
    if addresses:
        name, address = addresses[0].display_name, addresses[0].addr_spec
    else:
        raw = _raw_header(msg, "From")
        name, address = parseaddr(raw[0]) if raw else ("", "")
    address = _clean_line(address or "").strip("<>")
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or len(address) > MAX_ADDRESS_LENGTH:
        raise UnparseableEmail("No usable sender: the From header is missing or not an address")
    if " " in address:
        raise UnparseableEmail(f"No usable sender: {address[:100]!r} is not an address")
    return address, _clean_line(name or "")[:200]


def _auto_reason(msg: MimeMessage, from_address: str) -> str:
    """Why this mail is automatic (and must never be answered), or '' for a person's mail."""
    auto_submitted = _header(msg, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted[:40]}"
    precedence = _header(msg, "Precedence").strip().lower()
    if precedence in {"bulk", "junk", "list"}:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "List-Id"):
        if _raw_header(msg, name):
            return f"{name} header"
    if any(v.strip() == "<>" for v in _raw_header(msg, "Return-Path")):
        return "empty Return-Path (a bounce)"
    if _raw_header(msg, "X-Supportdesk-Ticket") or from_address.lower() in _own_addresses():
        # Our own mail coming back (a forwarding loop, a misrouted copy): never answer ourselves.
        return "sent by this desk (mail loop)"
    local = from_address.rpartition("@")[0].lower()
    if local in {"mailer-daemon", "postmaster"}:
        return f"sent by {local}"
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    return ""


# Senders nobody reads: an automatic answer to them is wasted or bounces (RFC 3834 section 2).
NO_REPLY_LOCAL = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|mailer[-_.]?daemon|postmaster|"
    r"bounces?|notifications?)([-+_.].*)?$",
    re.IGNORECASE,
)


def is_no_reply_address(address: str) -> bool:
    """Whether `address` is a sender nobody reads (noreply@, mailer-daemon@, bounce+x@, ...)."""
    return bool(NO_REPLY_LOCAL.match(address.rpartition("@")[0]))


def _no_auto_answer(msg: MimeMessage, from_address: str) -> str:
    """Beyond `_auto_reason` (mail that is automatic itself): mail a person may have sent but
    that asks for no automatic answers (Outlook's X-Auto-Response-Suppress, mailing lists) or
    comes from an address nobody reads. Such mail is filed and reopens tickets as usual."""
    if _raw_header(msg, "X-Auto-Response-Suppress"):
        return "X-Auto-Response-Suppress header"
    if _raw_header(msg, "List-Unsubscribe"):
        return "List-Unsubscribe header (a mailing list)"
    if is_no_reply_address(from_address):
        return "a no-reply sender"
    return ""


def _own_addresses() -> set[str]:
    addresses = {settings.DEFAULT_FROM_EMAIL, settings.SUPPORTDESK_REPLY_ADDRESS}
    return {parseaddr(a)[1].lower() for a in addresses if a}


def _reply_tokens(msg: MimeMessage) -> list[str]:
    """Ticket references in support+<reference>@domain among the recipients (raw headers only)."""
    local, _, domain = settings.SUPPORTDESK_REPLY_ADDRESS.partition("@")
    pattern = re.compile(
        rf"(?<![\w.+-]){re.escape(local)}\+([a-z0-9]{{4,16}})@{re.escape(domain)}\b", re.IGNORECASE
    )
    tokens: list[str] = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"):
        for value in _raw_header(msg, name):
            for token in pattern.findall(value):
                if token.lower() not in tokens:
                    tokens.append(token.lower())
                if len(tokens) >= 5:
                    return tokens
    return tokens


def _decode_text(part: MimeMessage) -> str:
    """A text part as str: unknown or lying charsets are decoded with replacement, never a crash."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = b""
    charset = part.get_content_charset() or "utf-8"
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):
        charset = "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except Exception:
        text = payload.decode("utf-8", errors="replace")
    return text.replace("\x00", "")


def _filename(part: MimeMessage, content_type: str) -> str:
    """Display only (files are stored under random names): see attachments.services.clean_filename."""
    name = _filename_or_empty(part)
    if not name.strip() and content_type == "message/rfc822":
        name = "message.eml"
    return clean_filename(name, content_type=content_type)


def _part_bytes(part: MimeMessage) -> bytes:
    if part.is_multipart() or part.get_content_maintype() == "message":
        # An attached mail (message/rfc822, a bounce's original): keep it whole as an .eml.
        inner = part.get_payload()
        first = inner[0] if isinstance(inner, list) and inner else None
        target = first if isinstance(first, MimeMessage) else part
        try:
            return target.as_bytes(policy=policy.compat32)
        except Exception:
            return str(target.get_payload()).encode("utf-8", errors="replace")
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _walk(msg: MimeMessage, parsed: ParsedEmail, texts: list[str], htmls: list[str]) -> None:
    """Depth-first over the MIME tree: inline text/html bodies, everything else an attachment."""
    limit = settings.SUPPORTDESK_MAX_ATTACHMENT_BYTES
    cap = settings.SUPPORTDESK_MAX_ATTACHMENTS_PER_EMAIL
    over_cap = 0
    over_cap_names: list[str] = []
    stack: list[tuple[MimeMessage, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        content_type = part.get_content_type()
        if part.get_content_maintype() == "multipart":
            children = part.get_payload()
            if isinstance(children, list):
                if depth < 20:
                    stack.extend((child, depth + 1) for child in reversed(children))
            else:
                # Broken MIME (a multipart without its boundary): keep the text rather than lose it.
                texts.append(_decode_text(part))
            continue
        try:
            disposition = (part.get_content_disposition() or "").lower()
        except Exception:
            disposition = ""
        has_name = bool(_filename_or_empty(part))
        is_body = (
            content_type in {"text/plain", "text/html"}
            and disposition != "attachment"
            and not has_name
        )
        if is_body:
            (htmls if content_type == "text/html" else texts).append(_decode_text(part))
            continue
        if len(parsed.attachments) >= cap:
            # A mail with thousands of parts: keep the first `cap`, name some of the rest in the
            # note; their bytes stay in the raw message, which is always kept.
            over_cap += 1
            if len(over_cap_names) < 10:
                over_cap_names.append(_filename(part, content_type))
            continue
        content = _part_bytes(part)
        filename = _filename(part, content_type)
        if len(content) > limit:
            parsed.dropped.append(
                f"Attachment {filename!r} ({len(content):,} bytes) was over the "
                f"{limit:,}-byte limit and was not stored."
            )
            continue
        try:
            content_id = _first_msgid(_header(part, "Content-ID")).strip("<>")[:255]
        except Exception:
            content_id = ""
        parsed.attachments.append(
            ParsedAttachment(
                filename=filename,
                content_type=content_type,
                content=content,
                content_id=content_id,
            )
        )
    if over_cap:
        named = ", ".join(repr(n) for n in over_cap_names)
        more = (
            f" and {over_cap - len(over_cap_names):,} more"
            if over_cap > len(over_cap_names)
            else ""
        )
        parsed.dropped.append(
            f"{over_cap:,} attachment{'s were' if over_cap != 1 else ' was'} not stored "
            f"({named}{more}): at most {cap:,} attachments are kept per email. The raw message, "
            "with every part, is kept."
        )


def _filename_or_empty(part: MimeMessage) -> str:
    try:
        return str(part.get_filename() or "")
    except Exception:
        return ""


def parse_email(raw: bytes) -> ParsedEmail:
    """Everything we need from a raw RFC 822 message; raises UnparseableEmail for garbage."""
    if not raw.strip():
        raise UnparseableEmail("Empty message: no headers and no body")
    msg: EmailMessage = message_from_bytes(raw, policy=policy.default)
    from_address, from_name = _sender(msg)
    subject = _clean_line(_header(msg, "Subject"))[:255]
    in_reply_to = _MSGID.findall(" ".join(_raw_header(msg, "In-Reply-To")))
    references = _MSGID.findall(" ".join(_raw_header(msg, "References")))
    parsed = ParsedEmail(
        from_address=from_address,
        from_name=from_name,
        subject=subject,
        message_id=_first_msgid(_header(msg, "Message-ID")),
        in_reply_to=in_reply_to[0][:255] if in_reply_to else "",
        # The newest references matter most for threading; a hostile header stays bounded.
        references=[r[:255] for r in references[-MAX_THREAD_IDS:]],
        body_text="",
        body_html="",
        auto_reason=_auto_reason(msg, from_address),
        reply_tokens=_reply_tokens(msg),
        language=languages.from_header(_header(msg, "Content-Language"))
        or languages.from_header(_header(msg, "Accept-Language")),
    )
    parsed.no_auto_answer = parsed.auto_reason or _no_auto_answer(msg, from_address)
    texts: list[str] = []
    htmls: list[str] = []
    _walk(msg, parsed, texts, htmls)
    parsed.body_text = "\n\n".join(t.strip() for t in texts if t.strip())
    # services._add_message sanitises the HTML before storing it.
    parsed.body_html = "\n".join(h for h in htmls if h.strip())
    return parsed
