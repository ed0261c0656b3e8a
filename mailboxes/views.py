"""The mailboxes admin page: add, test the connection, pause or resume, remove. Admins only."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import AgentRequest
from accounts.models import Role
from accounts.reauth import second_factor_again
from mailboxes import services
from mailboxes.forms import MailboxForm
from mailboxes.models import Mailbox


def admin_required(view: Any) -> Any:
    @wraps(view)
    def wrapper(request: AgentRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_role(Role.ADMIN):
            raise PermissionDenied("Only admins manage mailboxes")
        return view(request, *args, **kwargs)

    return wrapper


def _page(request: HttpRequest, form: MailboxForm, status: int = 200) -> HttpResponse:
    context = {
        "nav": "mailboxes",
        "mailboxes": Mailbox.objects.order_by("address")[:1000],
        "form": form,
    }
    return render(request, "mailboxes/list.html", context, status=status)


@login_required
@admin_required
@require_GET
def mailbox_list(request: HttpRequest) -> HttpResponse:
    return _page(request, MailboxForm())


@login_required
@admin_required
@require_http_methods(["POST"])
@second_factor_again
def mailbox_new(request: HttpRequest) -> HttpResponse:
    form = MailboxForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=422)
    data = form.cleaned_data
    smtp = None
    if data["smtp_host"]:
        smtp = services.SmtpSettings(
            host=data["smtp_host"],
            port=data["smtp_port"],
            username=data["smtp_user"],
            password=data["smtp_password"],
            security=data["smtp_security"],
        )
    try:
        mailbox = services.create_mailbox(
            address=data["address"],
            name=data["name"],
            imap_settings=services.ImapSettings(
                host=data["imap_host"],
                port=data["imap_port"],
                username=data["imap_user"],
                password=data["imap_password"],
                security=data["imap_security"],
                folder=data["folder"] or "INBOX",
                oauth_provider=data["oauth_provider"],
                oauth_refresh_token=data["oauth_refresh_token"],
            ),
            smtp_settings=smtp,
        )
    except services.MailboxInvalid as exc:
        form.add_error(None, str(exc))
        return _page(request, form, status=422)
    messages.success(request, f"Mailbox {mailbox.address} added. Test its connection below.")
    return redirect("mailboxes:list")


@login_required
@admin_required
@require_POST
def mailbox_test(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox, pk=mailbox_id)
    result = services.test_connection(mailbox)
    if result.ok:
        messages.success(request, f"{mailbox.address}: {result.detail}")
    else:
        messages.error(request, f"{mailbox.address}: {result.detail}")
    return redirect("mailboxes:list")


@login_required
@admin_required
@require_POST
def mailbox_pause(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox, pk=mailbox_id)
    mailbox = services.set_active(mailbox, active=not mailbox.active)
    state = "resumed" if mailbox.active else "paused"
    messages.success(request, f"{mailbox.address} {state}.")
    return redirect("mailboxes:list")


@login_required
@admin_required
@require_POST
def mailbox_delete(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox, pk=mailbox_id)
    address = mailbox.address
    services.delete_mailbox(mailbox)
    messages.success(
        request, f"{address} removed; its tickets stay. Nothing was deleted on the server."
    )
    return redirect("mailboxes:list")
