"""Privacy by law: everything held about a person, exported as one JSON document; erased
everywhere on request while the grant ledger stays reconcilable; and retention rules for the
sweep. The one place that knows where a person's data lives (keep it in step with new models).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import IO, Any

from celery import shared_task
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts import auditing
from attachments.models import Attachment
from csat.models import Survey
from customers.models import Customer, CustomerEmail, Order, Shipment
from livechat.models import ChatAuthorType, ChatMessage, Conversation, ConversationStatus
from mailer.models import CapturedEmail, OutboundEmail, OutboundStatus
from privacy.models import Erasure, ExportJob, ExportStatus
from tickets.models import InboundEmail, InboundStatus, Message, Ticket
from wow_credits.models import Grant, LocalEffect

log = logging.getLogger(__name__)

REDACTED = "[redacted]"
ERASED_NAME = "[erased]"
EXPORT_FORMAT = "supportdesk.person-export/1"


class PrivacyError(Exception):
    def __init__(self, detail: str, code: str = "invalid") -> None:
        super().__init__(detail)
        self.code = code


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _subjects(customer: Customer) -> QuerySet[Customer]:
    """The person and every record merged into them."""
    return Customer.objects.filter(Q(pk=customer.pk) | Q(merged_into=customer))


def _addresses(customer: Customer) -> list[str]:
    return list(
        CustomerEmail.objects.filter(customer__in=_subjects(customer)).values_list(
            "address", flat=True
        )
    )


def _conversations(customer: Customer, addresses: list[str]) -> QuerySet[Conversation]:
    query = Q(customer__in=_subjects(customer))
    if addresses:
        query |= Q(visitor_email__in=addresses)
    return Conversation.objects.filter(query)


def _json_to_contains(field: str, addresses: list[str]) -> Q:
    """Rows whose JSON list `field` holds one of `addresses` (Postgres: the JSON containment
    operator; SQLite: a match on the JSON text)."""
    query = Q(pk__in=[])
    for address in addresses:
        if connection.vendor == "postgresql":
            query |= Q(**{f"{field}__contains": [address]})
        else:
            query |= Q(**{f"{field}__icontains": f'"{address}"'})
    return query


def _attachments(ticket_ids: list[int], conversation_ids: list[int]) -> QuerySet[Attachment]:
    return Attachment.objects.filter(
        Q(ticket_id__in=ticket_ids)
        | Q(message__ticket_id__in=ticket_ids)
        | Q(conversation_id__in=conversation_ids)
        | Q(chat_message__conversation_id__in=conversation_ids)
    ).order_by("id")


# --- export -------------------------------------------------------------------------------------


def count_items(customer: Customer) -> int:
    """Messages, chat lines, orders and grants: the size that decides inline or background."""
    addresses = _addresses(customer)
    subjects = _subjects(customer)
    return (
        Message.objects.filter(ticket__customer__in=subjects).count()
        + ChatMessage.objects.filter(conversation__in=_conversations(customer, addresses)).count()
        + Order.objects.filter(customer__in=subjects).count()
        + Grant.objects.filter(customer__in=subjects).count()
    )


def build_export(customer: Customer) -> dict[str, Any]:
    """One JSON-ready document of everything held about the person."""
    subjects = _subjects(customer)
    addresses = _addresses(customer)
    tickets = (
        Ticket.objects.filter(customer__in=subjects)
        .prefetch_related("messages__attachments", "tags")
        .order_by("created_at", "id")
    )
    conversations = (
        _conversations(customer, addresses).prefetch_related("messages").order_by("created_at")
    )
    orders = (
        Order.objects.filter(customer__in=subjects)
        .prefetch_related("items", "shipments")
        .order_by("placed_at")
    )
    grants = Grant.objects.filter(customer__in=subjects).order_by("created_at", "id")
    surveys = Survey.objects.filter(
        Q(customer__in=subjects) | Q(ticket__in=tickets) | Q(conversation__in=conversations)
    ).order_by("requested_at")
    attachments = _attachments(
        list(tickets.values_list("pk", flat=True)),
        list(conversations.values_list("pk", flat=True)),
    )
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now(),
        "profile": _profile_doc(customer, subjects),
        "emails": [
            {"address": e.address, "primary": e.is_primary}
            for e in CustomerEmail.objects.filter(customer__in=subjects)
        ],
        "tickets": [_ticket_doc(ticket) for ticket in tickets],
        "chats": [_chat_doc(conversation) for conversation in conversations],
        "orders": [_order_doc(order) for order in orders],
        "grants": [_grant_doc(grant) for grant in grants],
        "csat": [_survey_doc(survey) for survey in surveys],
        "attachments": [_attachment_doc(attachment) for attachment in attachments],
    }


def _profile_doc(customer: Customer, subjects: QuerySet[Customer]) -> dict[str, Any]:
    return {
        "id": customer.pk,
        "name": customer.name,
        "kind": customer.kind,
        "tier": customer.tier,
        "external_id": customer.external_id,
        "notes": customer.notes,
        "created_at": customer.created_at,
        "merged_records": [c.pk for c in subjects if c.pk != customer.pk],
    }


def _ticket_doc(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "reference": ticket.reference,
        "subject": ticket.subject,
        "status": ticket.status,
        "type": ticket.type,
        "channel": ticket.channel,
        "created_at": ticket.created_at,
        "tags": [t.name for t in ticket.tags.all()],
        "messages": [
            {
                "id": message.pk,
                "author_type": message.author_type,
                "internal": message.internal,
                "channel": message.channel,
                "body": message.body_text,
                "created_at": message.created_at,
                "attachments": [a.pk for a in message.attachments.all()],
            }
            for message in ticket.messages.all()
        ],
    }


def _chat_doc(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "visitor_name": conversation.visitor_name,
        "visitor_email": conversation.visitor_email,
        "verified": conversation.verified,
        "status": conversation.status,
        "page_url": conversation.page_url,
        "created_at": conversation.created_at,
        "ended_at": conversation.ended_at,
        "messages": [
            {
                "seq": m.seq,
                "author_type": m.author_type,
                "author_name": m.author_name,
                "body": m.body,
                "sent_at": m.sent_at,
            }
            for m in conversation.messages.all()
        ],
    }


def _order_doc(order: Order) -> dict[str, Any]:
    return {
        "external_id": order.external_id,
        "total": order.total,
        "currency": order.currency,
        "status": order.status,
        "placed_at": order.placed_at,
        "items": [
            {"sku": i.sku, "name": i.name, "quantity": i.quantity, "price": i.price}
            for i in order.items.all()
        ],
        "shipments": [
            {
                "method": s.method,
                "address": s.address,
                "carrier": s.carrier,
                "tracking": s.tracking,
                "status": s.status,
                "promised_by": s.promised_by,
            }
            for s in order.shipments.all()
        ],
    }


def _grant_doc(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.pk,
        "kind": grant.kind,
        "status": grant.status,
        "amount": grant.amount,
        "currency": grant.currency,
        "reason": grant.reason,
        "outcome": grant.outcome,
        "created_at": grant.created_at,
        "executed_at": grant.executed_at,
    }


def _survey_doc(survey: Survey) -> dict[str, Any]:
    return {
        "ticket_id": survey.ticket_id,
        "chat_id": survey.conversation_id,
        "rating": survey.rating,
        "comment": survey.comment,
        "rated_at": survey.rated_at,
    }


def _attachment_doc(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "source": attachment.source,
        "ticket_id": attachment.ticket_id,
        "message_id": attachment.message_id,
        "chat_id": attachment.conversation_id,
        "created_at": attachment.created_at,
    }


def export_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, cls=_Encoder, ensure_ascii=False, indent=1).encode()


class _Encoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return str(o)
        return super().default(o)


def _origin(request: Any) -> auditing.RequestOrigin:
    return auditing.request_origin(request)


def export_inline(customer: Customer, *, by: Any, request: Any = None) -> dict[str, Any]:
    document = build_export(customer)
    auditing.record(
        action="customer.exported",
        actor=by,
        object_type="customer",
        object_id=customer.pk,
        detail={"delivery": "inline"},
        **_origin(request),
    )
    return document


def start_export(
    customer: Customer, *, by: Any, request: Any = None, with_attachments: bool = False
) -> tuple[ExportJob, str]:
    """A background export (a zip with the attachment files if `with_attachments`); returns the
    job and the download link's secret (shown once)."""
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        job = ExportJob.objects.create(
            customer=customer,
            requested_by=by,
            link_digest=_digest(secret),
            with_attachments=with_attachments,
            expires_at=timezone.now() + timedelta(hours=settings.SUPPORTDESK_EXPORT_LINK_HOURS),
        )
        auditing.record(
            action="customer.exported",
            actor=by,
            object_type="customer",
            object_id=customer.pk,
            detail={"delivery": "link", "job": job.pk, "attachments": with_attachments},
            **_origin(request),
        )
        transaction.on_commit(lambda: build_export_file.delay(job.pk))
    return job, secret


def build_export_job(job_id: int) -> ExportJob:
    job = ExportJob.objects.select_related("customer").get(pk=job_id)
    if job.status != ExportStatus.PENDING:
        return job
    try:
        document = build_export(job.customer)
    except Exception as error:  # recorded on the job; the requester sees "failed"
        log.exception("Export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.FAILED, error=str(error))
        job.refresh_from_db()
        return job
    if job.with_attachments:
        with tempfile.TemporaryFile() as archive:
            write_export_zip(document, archive)
            archive.seek(0)
            job.file.save(f"export-{secrets.token_hex(8)}.zip", File(archive), False)
    else:
        name = f"export-{secrets.token_hex(8)}.json"
        job.file.save(name, ContentFile(export_json(document)), False)
    job.items = len(document["tickets"]) + len(document["chats"]) + len(document["orders"])
    job.status = ExportStatus.READY
    job.ready_at = timezone.now()
    job.save(update_fields=["file", "items", "status", "ready_at"])
    return job


@shared_task(name="privacy.build_export_file", ignore_result=True)
def build_export_file(job_id: int) -> None:
    """The Celery task that builds a requested export's file (started after commit). Defined here
    and listed in privacy/tasks.py for Celery's autodiscovery, so the two modules import one way."""
    build_export_job(job_id)


ZIP_DOCUMENT = "person-export.json"


def _zip_name(attachment: dict[str, Any]) -> str:
    """`attachments/<id>-<name>`: the stored name is for display only (it may hold `../`, bidi or
    control characters), so only safe characters of it are kept."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", attachment["filename"] or "").strip("._")[:100]
    return f"attachments/{attachment['id']}-{safe or 'file'}"


def write_export_zip(document: dict[str, Any], archive: IO[bytes]) -> None:
    """The export as a zip: the JSON document (each attachment entry names its file in the zip,
    `zip_path`, or says `missing`) and every attachment's stored bytes (EXIF already stripped at
    upload), copied in chunks so large files never sit in memory whole."""
    files = {
        a.pk: a
        for a in Attachment.objects.filter(pk__in=[a["id"] for a in document["attachments"]])
    }
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for entry in document["attachments"]:
            attachment = files.get(entry["id"])
            try:
                if attachment is None or not attachment.file:
                    raise FileNotFoundError(entry["id"])
                with (
                    attachment.file.open("rb") as source,
                    bundle.open(_zip_name(entry), "w") as out,
                ):
                    shutil.copyfileobj(source, out, 1 << 20)
            except (FileNotFoundError, OSError):
                log.warning("Export: attachment %s has no file", entry["id"])
                entry["missing"] = True
                continue
            entry["zip_path"] = _zip_name(entry)
        bundle.writestr(ZIP_DOCUMENT, export_json(document))


class _DeleteOnClose:
    """A downloaded export's file handle: the stored file is deleted once the response has sent
    it (or failed to), as the link works once."""

    def __init__(self, handle: IO[bytes], storage: Any, name: str) -> None:
        self._handle, self._storage, self._name = handle, storage, name

    def read(self, size: int = -1) -> bytes:
        return self._handle.read(size)

    def close(self) -> None:
        try:
            self._handle.close()
        finally:
            self._storage.delete(self._name)


@dataclass(frozen=True)
class Download:
    file: Any  # read() in chunks, close() deletes the stored file
    filename: str
    content_type: str


def take_download(secret: str) -> Download:
    """The export behind a link, once: the file is deleted as it is handed out."""
    with transaction.atomic():
        job = (
            ExportJob.objects.select_for_update().filter(link_digest=_digest(secret or "")).first()
        )
        if job is None:
            raise PrivacyError("No such export", "not_found")
        if job.status == ExportStatus.DOWNLOADED:
            raise PrivacyError("This link was already used", "gone")
        if job.expires_at <= timezone.now():
            raise PrivacyError("This link has expired", "gone")
        if job.status != ExportStatus.READY:
            raise PrivacyError("The export is not ready yet", "not_ready")
        name, storage = job.file.name or "", job.file.storage  # a ready export has its file
        handle = storage.open(name, "rb")
        job.status = ExportStatus.DOWNLOADED
        job.downloaded_at = timezone.now()
        job.file = ""
        job.save(update_fields=["status", "downloaded_at", "file"])
    zipped = name.endswith(".zip")
    return Download(
        file=_DeleteOnClose(handle, storage, name),
        filename="person-export.zip" if zipped else "person-export.json",
        content_type="application/zip" if zipped else "application/json",
    )


# --- erasure ------------------------------------------------------------------------------------


def erase_customer(customer: Customer, *, by: Any, request: Any = None) -> dict[str, int]:
    """Remove or redact the person's names, addresses, emails, phone numbers, message bodies,
    attachments and chat lines everywhere (search text, outgoing mail rows, raw inbound mail).
    Grants keep every row, amount and reason under the same, now anonymous, customer row."""
    counts: dict[str, int] = {}
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.merged_into_id is not None:
            raise PrivacyError("Erase the record this one was merged into", "merged")
        subject_ids = list(_subjects(customer).values_list("pk", flat=True))
        addresses = _addresses(customer)
        ticket_ids = list(
            Ticket.objects.filter(customer_id__in=subject_ids).values_list("pk", flat=True)
        )
        conversation_ids = list(_conversations(customer, addresses).values_list("pk", flat=True))
        files = _erase_attachments(ticket_ids, conversation_ids, counts)
        _erase_tickets_and_mail(ticket_ids, addresses, counts)
        _erase_chats(conversation_ids, counts)
        _erase_surveys_orders_and_profile(subject_ids, ticket_ids, conversation_ids, counts)
        Erasure.objects.create(customer=customer, erased_by=by, counts=counts)
        auditing.record(
            action="customer.erased",
            actor=by,
            object_type="customer",
            object_id=customer.pk,
            detail={"counts": counts},
            **_origin(request),
        )
        transaction.on_commit(lambda: _remove_files(files))
    return counts


def _erase_attachments(
    ticket_ids: list[int], conversation_ids: list[int], counts: dict[str, int]
) -> list[tuple[Any, str]]:
    """Delete the attachment rows; returns their stored files, removed once the erasure commits."""
    files: list[tuple[Any, str]] = []
    held = _attachments(ticket_ids, conversation_ids)
    for attachment in held:
        for stored in (attachment.file, attachment.thumbnail):
            if stored.name:  # a FieldFile is true when it has a name
                files.append((stored.storage, stored.name))
    counts["attachments"] = Attachment.objects.filter(
        pk__in=list(held.values_list("pk", flat=True))
    ).delete()[0]
    return files


def _remove_files(files: list[tuple[Any, str]]) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except OSError:
            log.warning("Could not delete an erased attachment file %s", name)


def _erase_tickets_and_mail(
    ticket_ids: list[int], addresses: list[str], counts: dict[str, int]
) -> None:
    counts["messages"] = Message.objects.filter(ticket_id__in=ticket_ids).update(
        body_text=REDACTED, body_html=""
    )
    counts["tickets"] = Ticket.objects.filter(pk__in=ticket_ids).update(
        subject=REDACTED, search_document=""
    )
    counts["inbound_raw"] = InboundEmail.objects.filter(ticket_id__in=ticket_ids).delete()[0]
    outbound = OutboundEmail.objects.filter(
        Q(ticket_id__in=ticket_ids) | _json_to_contains("to", addresses)
    )
    # Mail not yet sent is not sent any more: it was to the person, about the person.
    outbound.filter(status__in=[OutboundStatus.QUEUED, OutboundStatus.SENDING]).update(
        status=OutboundStatus.FAILED, last_error="Recipient erased"
    )
    counts["outbound_mail"] = outbound.update(
        to=[REDACTED],
        envelope_to=[],
        subject=REDACTED,
        body_text=REDACTED,
        body_html="",
        raw_message=None,
        extra_headers={},
    )
    counts["captured_mail"] = CapturedEmail.objects.filter(
        _json_to_contains("to", addresses)
    ).update(to=[REDACTED], subject=REDACTED, body_text=REDACTED, raw=REDACTED)


def _erase_chats(conversation_ids: list[int], counts: dict[str, int]) -> None:
    counts["chat_lines"] = ChatMessage.objects.filter(conversation_id__in=conversation_ids).update(
        body=REDACTED
    )
    ChatMessage.objects.filter(
        conversation_id__in=conversation_ids, author_type=ChatAuthorType.VISITOR
    ).update(author_name="")
    counts["chats"] = Conversation.objects.filter(pk__in=conversation_ids).update(
        visitor_name="", visitor_email="", page_url=""
    )


def _erase_surveys_orders_and_profile(
    subject_ids: list[int],
    ticket_ids: list[int],
    conversation_ids: list[int],
    counts: dict[str, int],
) -> None:
    counts["csat"] = Survey.objects.filter(
        Q(customer_id__in=subject_ids)
        | Q(ticket_id__in=ticket_ids)
        | Q(conversation_id__in=conversation_ids)
    ).update(email="", comment="")
    counts["shipments"] = Shipment.objects.filter(order__customer_id__in=subject_ids).update(
        address=REDACTED
    )
    Order.objects.filter(customer_id__in=subject_ids).update(problem_detail="")
    # The ledger: rows, amounts and reasons stay; only the told outcome (tracking, address,
    # code) and the local backend's summary of it are redacted.
    counts["grants_kept"] = Grant.objects.filter(customer_id__in=subject_ids).update(
        outcome=REDACTED
    )
    LocalEffect.objects.filter(grant__customer_id__in=subject_ids).update(summary=REDACTED)
    counts["emails"] = CustomerEmail.objects.filter(customer_id__in=subject_ids).delete()[0]
    counts["customers"] = Customer.objects.filter(pk__in=subject_ids).update(
        name=ERASED_NAME, notes="", external_id=""
    )


# --- retention (run by the sweep) ---------------------------------------------------------------

RETENTION_BATCH = 500


def purge_raw_inbound_mail(*, now: Any = None) -> int:
    """Empty the raw bytes of inbound mail older than SUPPORTDESK_RETAIN_RAW_MAIL_DAYS that was
    handled (processed, ignored or failed); the row stays for deduplication and threading."""
    days = settings.SUPPORTDESK_RETAIN_RAW_MAIL_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    with transaction.atomic():
        ids = list(
            InboundEmail.objects.filter(received_at__lt=cutoff)
            .exclude(status=InboundStatus.RECEIVED)
            .exclude(raw=b"")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:RETENTION_BATCH]
        )
        return InboundEmail.objects.filter(pk__in=ids).update(raw=b"")


def anonymise_old_anonymous_chats(*, now: Any = None) -> int:
    """Redact ended chats older than SUPPORTDESK_RETAIN_ANONYMOUS_CHATS_DAYS whose visitor never
    gave an email: nobody could ask for them, so nobody needs them."""
    days = settings.SUPPORTDESK_RETAIN_ANONYMOUS_CHATS_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    with transaction.atomic():
        pending = (
            Conversation.objects.filter(
                status=ConversationStatus.ENDED,
                ended_at__lt=cutoff,
                visitor_email="",
                customer__isnull=True,
            )
            .filter(
                ~Q(visitor_name="")
                | ~Q(page_url="")
                | Q(pk__in=ChatMessage.objects.exclude(body=REDACTED).values("conversation_id"))
            )
            .select_for_update(skip_locked=True)
        )
        ids = list(pending.values_list("pk", flat=True)[:RETENTION_BATCH])
        ChatMessage.objects.filter(conversation_id__in=ids).update(body=REDACTED)
        ChatMessage.objects.filter(
            conversation_id__in=ids, author_type=ChatAuthorType.VISITOR
        ).update(author_name="")
        return Conversation.objects.filter(pk__in=ids).update(visitor_name="", page_url="")
