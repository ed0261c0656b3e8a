"""Attachments: take in bytes (typed by their content, named for display only, images cleaned of
their metadata, thumbnails made once) and bind them to one conversation.

Locking contract: `bind_to_message` / `bind_to_chat_message` lock the attachment rows
(SELECT ... FOR UPDATE) inside the caller's transaction, check that each one may join that
conversation, and set its links there; any refusal raises AttachmentError before anything is
written, so the caller's transaction (the reply, its email row) rolls back whole.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.db import transaction

from attachments.models import Attachment, Source

if TYPE_CHECKING:
    from accounts.models import User

log = logging.getLogger(__name__)

MAX_IDS = 20  # attachments per message
SIGNING_SALT = "attachments.link"
THUMBNAIL_SIZE = (320, 320)
# Pillow refuses images over this many pixels (decompression bombs): they stay opaque files.
MAX_IMAGE_PIXELS = 50_000_000


class AttachmentError(ValueError):
    """An upload or a binding that cannot be accepted, with a code and an HTTP status."""

    def __init__(self, detail: str, code: str = "invalid", status: int = 422) -> None:
        super().__init__(detail)
        self.code = code
        self.status = status


def max_upload_bytes() -> int:
    return int(settings.SUPPORTDESK_MAX_UPLOAD_MB) * 1024 * 1024


# --- typing by content ----------------------------------------------------------------------------

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"BM", "image/bmp"),
)
# Markup a browser could run if it ever rendered the bytes: such text is never "text/plain".
_MARKUP = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|object|embed|meta|link|style|img|a\s|"
    rb"xml|\?xml|div|form|math|x:|xsl)",
    re.IGNORECASE,
)


def detect_type(content: bytes) -> str:
    """The MIME type the bytes prove; never what a filename or a sender's label claims.

    Recognised formats by their magic bytes; plain UTF-8 text without markup is text/plain;
    everything else (HTML, SVG, XML, script, unknown binaries) is application/octet-stream, which
    is always served as a download.
    """
    for magic, kind in _SIGNATURES:
        if content.startswith(magic):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    head = content[:65536]
    if b"\x00" in head:
        return "application/octet-stream"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the 64 KiB boundary is still text.
        if exc.start < len(head) - 4:
            return "application/octet-stream"
    if _MARKUP.search(head):
        return "application/octet-stream"
    return "text/plain"


# --- filenames ------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Bidi embeddings, overrides and isolates, marks, zero-width characters and the BOM: they can make
# "invoice\u202egpj.exe" show as "invoiceexe.jpg".
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def clean_filename(name: str, *, content_type: str = "") -> str:
    """A display name that is one line with no path in it: separators become "_", control, bidi
    and zero-width characters are removed, leading dots and spaces too; at most 255 characters,
    keeping the extension. An empty result gets a name from the type."""
    name = unicodedata.normalize("NFC", str(name))
    name = _INVISIBLE.sub("", _CONTROL.sub("", name))
    name = re.sub(r"\s+", " ", name).replace("/", "_").replace("\\", "_").strip(". ")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:20] if dot and stem else ""
        name = name[: 255 - len(ext) - 1].rstrip() + ("." + ext if ext else "")
        name = name[:255]
    if not name:
        subtype = content_type.partition("/")[2] or "bin"
        name = f"attachment.{re.sub(r'[^a-z0-9]', '', subtype.lower())[:10] or 'bin'}"
    return name


# --- images ---------------------------------------------------------------------------------------

_PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}


@dataclass
class _Image:
    content: bytes
    content_type: str
    thumbnail: bytes | None


# Image info that says nothing about the person or the place: anything else (EXIF, XMP, comments,
# PNG text chunks) makes us re-encode the image without it.
_HARMLESS_INFO = frozenset(
    {"dpi", "gamma", "transparency", "icc_profile", "jfif", "jfif_version", "jfif_unit",
     "jfif_density", "progressive", "progression", "adobe", "adobe_transform", "aspect", "srgb",
     "duration", "loop", "background", "interlace", "bbox", "version", "extension",
     "chromaticity", "lossless", "default_image"}
)  # fmt: skip


def _clean_image(content: bytes, content_type: str) -> _Image:
    """An image without its metadata (EXIF: location, camera, time; XMP; comments; text chunks):
    re-encoded upright, as the camera meant it, when it carries any; byte for byte otherwise. And
    its thumbnail, made here once. Bytes Pillow cannot read (broken, a bomb) keep their type (the
    browser is told it is an image, with nosniff, so nothing runs) and get no thumbnail."""
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ValueError(f"{image.width}x{image.height} pixels: too many to decode")
            image.load()
            fmt = _PIL_FORMATS[content_type]
            has_metadata = bool(image.getexif()) or any(
                key not in _HARMLESS_INFO for key in image.info
            )
            animated = getattr(image, "n_frames", 1) > 1
            cleaned_bytes = content
            if animated:
                frame = image.copy()
                if has_metadata:
                    out = io.BytesIO()
                    image.info = {k: v for k, v in image.info.items() if k in _HARMLESS_INFO}
                    image.save(out, format=fmt, save_all=True)
                    cleaned_bytes = out.getvalue()
            else:
                frame = ImageOps.exif_transpose(image).copy()
                if has_metadata:
                    keep: dict[str, Any] = {}
                    if "icc_profile" in image.info:
                        keep["icc_profile"] = image.info["icc_profile"]
                    frame.info = {}
                    out = io.BytesIO()
                    if fmt == "JPEG":
                        if frame.mode not in ("RGB", "L", "CMYK"):
                            frame = frame.convert("RGB")
                        frame.save(out, format="JPEG", quality=92, optimize=True, **keep)
                    else:
                        frame.save(out, format=fmt, **keep)
                    cleaned_bytes = out.getvalue()
            frame.thumbnail(THUMBNAIL_SIZE)
            if frame.mode not in ("RGB", "RGBA"):
                frame = frame.convert("RGBA")
            thumb = io.BytesIO()
            frame.save(thumb, format="PNG", optimize=True)
            return _Image(cleaned_bytes, content_type, thumb.getvalue())
    except Exception as exc:
        log.info("Image not readable (%s); kept as it is, without a thumbnail", exc)
        return _Image(content, content_type, None)


# --- taking files in ------------------------------------------------------------------------------


def create_attachment(
    *,
    content: bytes,
    filename: str,
    source: Source | str,
    uploaded_by: User | None = None,
    ticket_id: int | None = None,
    message_id: int | None = None,
    conversation_id: int | None = None,
    content_id: str = "",
    max_bytes: int | None = None,
    embedded_message: bool = False,
) -> Attachment:
    """Store one file. Raises AttachmentError: empty (400 `empty_file`), over the limit (413
    `too_large`). The stored type comes from the bytes; images are stored without metadata.
    `embedded_message`: the MIME structure (not a label) says these bytes are a whole mail (a
    forwarded message, a bounce's original): typed message/rfc822, a download like any file."""
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    if not content:
        raise AttachmentError("The file is empty", code="empty_file", status=400)
    if len(content) > limit:
        raise AttachmentError(
            f"The file is larger than the limit of {limit:,} bytes", code="too_large", status=413
        )
    content_type = detect_type(content)
    if embedded_message and content_type in ("text/plain", "application/octet-stream"):
        content_type = "message/rfc822"
    thumbnail = None
    if content_type in _PIL_FORMATS:
        image = _clean_image(content, content_type)
        content, content_type, thumbnail = image.content, image.content_type, image.thumbnail
    attachment = Attachment(
        filename=clean_filename(filename, content_type=content_type),
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content_id=content_id[:255],
        source=source,
        uploaded_by=uploaded_by,
        ticket_id=ticket_id,
        message_id=message_id,
        conversation_id=conversation_id,
    )
    # The storage writes first; a database failure after it leaves an orphan file, never a row
    # pointing at nothing.
    attachment.file.save("file", ContentFile(content), save=False)
    if thumbnail is not None:
        attachment.thumbnail.save("thumbnail.png", ContentFile(thumbnail), save=False)
    attachment.save(force_insert=True)
    return attachment


def read_upload(upload: Any, *, max_bytes: int | None = None) -> bytes:
    """The bytes of a Django UploadedFile, refusing it past the limit without reading it all."""
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    if upload is None:
        raise AttachmentError(
            "Send the file in the multipart field `file`", code="no_file", status=400
        )
    if upload.size is not None and upload.size > limit:
        raise AttachmentError(
            f"The file is larger than the limit of {limit:,} bytes", code="too_large", status=413
        )
    data: bytes = upload.read(limit + 1)
    if len(data) > limit:
        raise AttachmentError(
            f"The file is larger than the limit of {limit:,} bytes", code="too_large", status=413
        )
    return data


# --- binding to a conversation ----------------------------------------------------------------------


def _unique_ids(ids: Iterable[int]) -> list[int]:
    seen: list[int] = []
    for value in ids:
        if value not in seen:
            seen.append(int(value))
    if len(seen) > MAX_IDS:
        raise AttachmentError(f"At most {MAX_IDS} attachments per message", code="too_many")
    return seen


def _locked(ids: list[int]) -> list[Attachment]:
    rows = {a.pk: a for a in Attachment.objects.select_for_update().filter(pk__in=ids)}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise AttachmentError(
            f"attachment_ids: no attachment {missing[0]} in this conversation",
            code="foreign_attachment",
        )
    return [rows[i] for i in ids]


def bind_to_message(
    ids: Sequence[int], *, ticket_id: int, message_id: int, by: User | None
) -> list[Attachment]:
    """Put attachments on a ticket message. Each must be unsent and either the agent's own upload
    (no conversation yet) or already this ticket's. Anything else is `foreign_attachment` (422)."""
    wanted = _unique_ids(ids)
    if not wanted:
        return []
    assert transaction.get_connection().in_atomic_block, "bind inside the caller's transaction"
    rows = _locked(wanted)
    for a in rows:
        own_upload = (
            a.ticket_id is None
            and a.conversation_id is None
            and a.source == Source.AGENT
            and by is not None
            and a.uploaded_by_id == by.pk
        )
        if not (own_upload or a.ticket_id == ticket_id):
            raise AttachmentError(
                f"attachment_ids: no attachment {a.pk} in this conversation",
                code="foreign_attachment",
            )
        if a.message_id is not None or a.chat_message_id is not None:
            raise AttachmentError(
                f"attachment_ids: attachment {a.pk} was already sent", code="attachment_used"
            )
    Attachment.objects.filter(pk__in=wanted).update(ticket_id=ticket_id, message_id=message_id)
    for a in rows:
        a.ticket_id, a.message_id = ticket_id, message_id
    return rows


def check_for_chat(ids: Sequence[int], *, conversation_id: int, by: User | None) -> list[int]:
    """Validate attachment ids for a chat line before it is stored (no lock, no write): the
    visitor's own uploads to this chat, or an agent's own unsent upload, or this chat's files."""
    wanted = _unique_ids(ids)
    if not wanted:
        return []
    rows = {a.pk: a for a in Attachment.objects.filter(pk__in=wanted)}
    for i in wanted:
        a = rows.get(i)
        ok = (
            a is not None
            and a.chat_message_id is None
            and a.message_id is None
            and (
                a.conversation_id == conversation_id
                or (
                    by is not None
                    and a.conversation_id is None
                    and a.ticket_id is None
                    and a.source == Source.AGENT
                    and a.uploaded_by_id == by.pk
                )
            )
        )
        if not ok:
            raise AttachmentError(
                f"attachment_ids: no attachment {i} in this conversation", code="foreign_attachment"
            )
    return wanted


def bind_to_chat_message(
    ids: Sequence[int], *, conversation_id: int, chat_message_id: int, by: User | None
) -> list[Attachment]:
    """Put attachments on a chat line (same rules as `check_for_chat`, under row locks)."""
    wanted = check_for_chat(ids, conversation_id=conversation_id, by=by)
    if not wanted:
        return []
    with transaction.atomic():
        rows = _locked(wanted)
        for a in rows:
            if a.chat_message_id is not None or a.message_id is not None:
                raise AttachmentError(
                    f"attachment_ids: attachment {a.pk} was already sent", code="attachment_used"
                )
        Attachment.objects.filter(pk__in=wanted).update(
            conversation_id=conversation_id, chat_message_id=chat_message_id
        )
    for a in rows:
        a.conversation_id, a.chat_message_id = conversation_id, chat_message_id
    return rows


# --- output ---------------------------------------------------------------------------------------


def as_json(attachment: Attachment, *, url: str | None = None) -> dict[str, Any]:
    """`{id, filename, content_type, size, url}` as the contract spells it (plus `thumbnail_url`)."""
    return {
        "id": attachment.pk,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": url or attachment.url,
        "thumbnail_url": attachment.thumbnail_url,
    }


def signed_url(attachment: Attachment) -> str:
    """An absolute link for the customer's email: it opens this one file, for anyone holding it."""
    token = signing.dumps(attachment.pk, salt=SIGNING_SALT)
    return f"{settings.SITE_URL}{attachment.url}?sig={token}"


def read_signature(token: str, *, attachment_id: int) -> bool:
    max_age = settings.SUPPORTDESK_ATTACHMENT_LINK_DAYS * 86400
    try:
        signed: object = signing.loads(token[:500], salt=SIGNING_SALT, max_age=max_age)
        return signed == attachment_id
    except (signing.BadSignature, TypeError, ValueError):
        return False


def mail_files(attachments: Iterable[Attachment]) -> list[dict[str, str]]:
    """What the mailer needs to attach stored files (it knows no models): storage name, display
    name and type."""
    return [
        {"name": a.file.name or "", "filename": a.filename, "content_type": a.content_type}
        for a in attachments
    ]
