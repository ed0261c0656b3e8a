"""Mailboxes over HTTP (admins only; agents get 403). Secrets go in, never come out."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja import Status as WithStatus

from accounts.api_auth import AgentSession, BearerToken
from accounts.http import AgentRequest
from accounts.models import Role, User
from accounts.reauth import ensure_second_factor_again
from core.api import ApiError
from mailboxes import services
from mailboxes.models import Mailbox, OAuthProvider, Security


def _admin_only(user: User | None) -> User | None:
    """Authenticated but not an admin: 403 before the body is even validated (no 422 hints)."""
    if user is not None and not user.has_role(Role.ADMIN):
        raise PermissionDenied("Only admins manage mailboxes")
    return user


class AdminBearer(BearerToken):
    def authenticate(self, request: HttpRequest, token: str) -> object:
        return _admin_only(super().authenticate(request, token))


class AdminSession(AgentSession):
    def authenticate(self, request: HttpRequest, key: str | None) -> object:
        return _admin_only(super().authenticate(request, key))


router = Router(tags=["mailboxes"], auth=[AdminBearer(), AdminSession()])

_HOST = Field(..., min_length=1, max_length=255)
_PORT = Field(None, ge=1, le=65535)


class ImapIn(Schema):
    host: str = _HOST
    port: int | None = _PORT
    username: str = Field("", max_length=320, description="Default: the mailbox's address")
    password: str = Field("", max_length=1000, description="Stored encrypted; never returned")
    security: Security = Security.SSL
    folder: str = Field("INBOX", min_length=1, max_length=255)
    oauth_provider: OAuthProvider | None = Field(
        None, description="google or microsoft: log in with XOAUTH2 instead of a password"
    )
    oauth_refresh_token: str = Field("", max_length=4000, description="Stored encrypted")
    oauth_client_id: str = Field("", max_length=255)
    oauth_client_secret: str = Field("", max_length=1000, description="Stored encrypted")


class SmtpIn(Schema):
    host: str = _HOST
    port: int | None = _PORT
    username: str = Field("", max_length=320)
    password: str = Field("", max_length=1000, description="Stored encrypted; never returned")
    security: Security = Security.STARTTLS


class MailboxIn(Schema):
    address: str = Field(..., max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field("", max_length=200)
    imap: ImapIn
    smtp: SmtpIn | None = None
    active: bool = True


class MailboxPatch(Schema):
    address: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str | None = Field(None, max_length=200)
    imap: ImapIn | None = Field(None, description="Omitted secrets are kept")
    smtp: SmtpIn | None = Field(None, description="Omitted password is kept")
    clear_smtp: bool = Field(False, description="Remove the SMTP settings (use the global ones)")
    active: bool | None = Field(None, description="false pauses fetching, true resumes")


class MailboxOut(Schema):
    id: int
    address: str
    name: str
    last_fetch_at: datetime | None
    last_error: str
    fetched: int


class MailboxDetail(MailboxOut):
    active: bool
    imap_host: str
    imap_port: int
    imap_security: str
    imap_username: str
    imap_auth: str = Field(..., description="password or oauth2")
    oauth_provider: str
    folder: str
    smtp_host: str
    smtp_port: int | None
    smtp_security: str
    smtp_username: str
    failures: int
    next_try_at: datetime | None
    last_success_at: datetime | None
    created_at: datetime


class MailboxList(Schema):
    items: list[MailboxOut]


class TestOut(Schema):
    ok: bool
    detail: str
    messages: int | None
    unseen: int | None


def _admin(request: AgentRequest) -> None:
    if not request.user.has_role(Role.ADMIN):
        raise PermissionDenied("Only admins manage mailboxes")


def _imap(payload: ImapIn) -> services.ImapSettings:
    return services.ImapSettings(
        host=payload.host,
        port=payload.port,
        username=payload.username,
        password=payload.password,
        security=payload.security,
        folder=payload.folder,
        oauth_provider=payload.oauth_provider or "",
        oauth_refresh_token=payload.oauth_refresh_token,
        oauth_client_id=payload.oauth_client_id,
        oauth_client_secret=payload.oauth_client_secret,
    )


def _smtp(payload: SmtpIn | None) -> services.SmtpSettings | None:
    if payload is None:
        return None
    return services.SmtpSettings(
        host=payload.host,
        port=payload.port,
        username=payload.username,
        password=payload.password,
        security=payload.security,
    )


@router.post("/mailboxes", response={201: MailboxDetail}, summary="Add a mailbox (admin)")
def create_mailbox(request: AgentRequest, payload: MailboxIn) -> WithStatus[Mailbox]:
    """With a session, the second factor must have been given in the last minutes (else 403
    `reauthentication_required`); a bearer token needs the `admin` scope (accounts/reauth.py)."""
    _admin(request)
    ensure_second_factor_again(request, admin_token_passes=True)
    try:
        mailbox = services.create_mailbox(
            address=payload.address,
            name=payload.name,
            imap_settings=_imap(payload.imap),
            smtp_settings=_smtp(payload.smtp),
            active=payload.active,
        )
    except services.MailboxInvalid as exc:
        raise ApiError(409 if exc.code == "address_taken" else 422, str(exc), exc.code) from None
    return WithStatus(201, mailbox)


@router.get("/mailboxes", response=MailboxList, summary="Mailboxes and their fetch state (admin)")
def list_mailboxes(request: AgentRequest) -> dict[str, object]:
    _admin(request)
    return {"items": list(Mailbox.objects.order_by("address")[:1000])}


@router.get("/mailboxes/{mailbox_id}", response=MailboxDetail, summary="One mailbox (admin)")
def get_mailbox(request: AgentRequest, mailbox_id: int) -> Mailbox:
    _admin(request)
    return get_object_or_404(Mailbox, pk=mailbox_id)


@router.patch(
    "/mailboxes/{mailbox_id}", response=MailboxDetail, summary="Change or pause a mailbox (admin)"
)
def patch_mailbox(request: AgentRequest, mailbox_id: int, payload: MailboxPatch) -> Mailbox:
    _admin(request)
    mailbox = get_object_or_404(Mailbox, pk=mailbox_id)
    try:
        return services.update_mailbox(
            mailbox,
            name=payload.name,
            address=payload.address,
            imap_settings=_imap(payload.imap) if payload.imap is not None else None,
            smtp_settings=_smtp(payload.smtp),
            clear_smtp=payload.clear_smtp,
            active=payload.active,
        )
    except services.MailboxInvalid as exc:
        raise ApiError(409 if exc.code == "address_taken" else 422, str(exc), exc.code) from None


@router.delete("/mailboxes/{mailbox_id}", response={204: None}, summary="Remove a mailbox (admin)")
def delete_mailbox(request: AgentRequest, mailbox_id: int) -> WithStatus[None]:
    _admin(request)
    services.delete_mailbox(get_object_or_404(Mailbox, pk=mailbox_id))
    return WithStatus(204, None)


@router.post(
    "/mailboxes/{mailbox_id}/test",
    response=TestOut,
    summary="Log in and open the folder; report what happened (admin)",
)
def test_mailbox(request: AgentRequest, mailbox_id: int) -> services.TestResult:
    _admin(request)
    return services.test_connection(get_object_or_404(Mailbox, pk=mailbox_id))
