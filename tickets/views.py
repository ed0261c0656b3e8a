"""The agent app (inbox, ticket page, attachments) and the customer web form.

Thin views: they parse input with `tickets.forms` and call `tickets.services`; reads go through
`tickets.selectors` or small prefetching querysets so every page costs a fixed number of queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import AgentRequest
from accounts.models import User
from attachments import services as attachment_services
from attachments.models import Attachment, Source
from core.ratelimit import ratelimit
from customers.models import CustomerKind, Order
from customers.services import customer_for_email
from tickets import inbox_counts, inbox_page, inbox_table, saved_views, selectors, services
from tickets.forms import FollowUpForm, ReplyForm, TicketUpdateForm, WebTicketForm
from tickets.models import (
    BulkJob,
    Channel,
    FollowUp,
    FollowUpStatus,
    Message,
    Priority,
    SavedView,
    Status,
    Ticket,
    TicketType,
)

PAGE_SIZE = 50
FILTER_PARAMS = ("view", "status", "type", "channel", "assignee", "tag", "kind", "mailbox", "q")
VIEW_LABELS = inbox_counts.VIEW_LABELS
BULK_ACTIONS = (
    ("assign", "Assign to"),
    ("unassign", "Unassign"),
    ("status", "Set status"),
    ("tag", "Add tags"),
    ("untag", "Remove tags"),
    ("merge", "Merge into ticket #"),
    ("spam", "Mark spam"),
    ("not_spam", "Not spam"),
)
# "All that match the filter" selects at most this many tickets per bulk job.
MATCHING_LIMIT = 100_000


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("tickets:inbox")


# --- inbox ---------------------------------------------------------------------------------------


def _filters(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET.get(key, "").strip()[:200] for key in FILTER_PARAMS}


@login_required
@require_GET
def inbox(request: AgentRequest) -> HttpResponse:
    user: User = request.user
    filters = _filters(request)
    saved = _saved_view(request, user)
    if saved is not None:  # a saved view is its filters (shown in the filter bar)
        filters = {key: str(saved.filters.get(key, "")) for key in FILTER_PARAMS}
        filters["view"] = filters["view"] or "all"
    view = filters["view"] if filters["view"] in dict(VIEW_LABELS) else "open"
    filters["view"] = view
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.ticket_page(
            user=user,
            filters=selectors.InboxFilters.from_params(filters),
            cursor=cursor,
            limit=PAGE_SIZE,
            all_emails=False,  # rows show a customer's email only when they have no name
            tags=False,  # read with the page's lists below
        )
    except selectors.BadCursor:
        # A stale or hand-edited link: start again from the first page instead of failing.
        page = selectors.ticket_page(
            user=user,
            filters=selectors.InboxFilters(view=view),
            limit=PAGE_SIZE,
            all_emails=False,
            tags=False,
        )
        cursor = None
    kept = {k: v for k, v in filters.items() if v}
    lists = inbox_page.page_lists(user=user, rows=page.items, lists=not request.htmx)
    for row in page.items:
        row.unread = row.id in lists.unread
        row.tags = lists.tags[row.id]
    context = {
        "rows": inbox_table.render_rows(page.items),
        "filters": filters,
        "view_name": view,
        "has_filters": any(v for k, v in filters.items() if k != "view"),
        "current_query": urlencode({**kept, **({"cursor": cursor} if cursor else {})}),
        "first_query": urlencode(kept),
        "next_query": urlencode({**kept, "cursor": page.next_cursor}) if page.next_cursor else "",
        "is_paged": bool(cursor),
    }
    if request.htmx:
        return render(request, "tickets/partials/ticket_table.html", context)
    counts = inbox_counts.sidebar_counts(user, lists.saved)
    context.update(
        nav="inbox",
        views=inbox_table.view_items(
            [(name, label, inbox_counts.shown(counts.views[name])) for name, label in VIEW_LABELS],
            current=None if saved is not None else view,
        ),
        filter_inputs=inbox_table.hidden_inputs(filters),
        # The <option>s built in Python (a template loop cost ~30 us an option).
        agent_options=inbox_table.options(lists.agents, selected=filters["assignee"]),
        bulk_agent_options=inbox_table.options(lists.agents),
        status_options=inbox_table.fixed_options(Status, selected=filters["status"]),
        type_options=inbox_table.fixed_options(TicketType, selected=filters["type"]),
        channel_options=inbox_table.fixed_options(Channel, selected=filters["channel"]),
        kind_options=inbox_table.fixed_options(CustomerKind, selected=filters["kind"]),
        mailbox_options=inbox_table.options(lists.mailboxes, selected=filters["mailbox"]),
        saved_items=inbox_table.saved_view_items(
            [(sv, inbox_counts.shown(counts.saved[sv.pk])) for sv in lists.saved],
            current=saved.pk if saved is not None else None,
        ),
        bulk_actions=inbox_table.fixed_options(BULK_ACTIONS),
        bulk_statuses=inbox_table.fixed_options(Status, leave_out=(Status.SPAM,)),
        bulk_job=_current_job(request),
    )
    return render(request, "tickets/inbox.html", context)


def _saved_view(request: HttpRequest, user: User) -> SavedView | None:
    raw = request.GET.get("saved", "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:  # an id; "²" is a digit too
        return None
    return saved_views.visible_view(user, int(raw))


@login_required
@require_GET
def inbox_counts_json(request: AgentRequest) -> JsonResponse:
    """The sidebar's counts, for the live inbox (static/js/inbox.js re-reads them on changes)."""
    user: User = request.user
    counts = inbox_counts.sidebar_counts(user, saved_views.views_for(user))
    return JsonResponse(counts.as_json())


@login_required
@require_POST
def saved_view_create(request: AgentRequest) -> HttpResponse:
    """ "Save this view" in the inbox sidebar: the current filters under a name."""
    filters = {key: request.POST.get(f"f_{key}", "") for key in FILTER_PARAMS}
    try:
        view = saved_views.create_view(
            owner=request.user,
            name=request.POST.get("name", ""),
            filters=filters,
            shared=request.POST.get("shared") == "1",
        )
    except services.TicketError as exc:
        messages.error(request, str(exc))
        return redirect("tickets:inbox")
    return redirect(f"{reverse('tickets:inbox')}?saved={view.pk}")


def _current_job(request: AgentRequest) -> BulkJob | None:
    job_id = request.GET.get("job", "")
    if not job_id.isdigit():
        return None
    return BulkJob.objects.filter(pk=int(job_id), by=request.user).first()


@login_required
@require_POST
def inbox_bulk(request: AgentRequest) -> HttpResponse:
    """The inbox's bulk bar: the ticked rows, or every ticket that matches the filter."""
    from tickets import bulk

    user: User = request.user
    action = request.POST.get("action", "")
    value = {
        "assign": request.POST.get("assignee", ""),
        "status": request.POST.get("status_value", ""),
    }.get(action, request.POST.get("value", "").strip().lstrip("#"))
    back = request.POST.get("next", "")
    if not back.startswith("/inbox/"):
        back = reverse("tickets:inbox")
    try:
        if request.POST.get("scope") == "filter":
            f = {key: request.POST.get(f"f_{key}", "").strip()[:200] for key in FILTER_PARAMS}
            view = f["view"] if f["view"] in dict(VIEW_LABELS) else "open"
            matching = selectors.filtered(
                user=user, filters=selectors.InboxFilters.from_params({**f, "view": view})
            ).values_list("id", flat=True)[:MATCHING_LIMIT]
            outcome: bulk.BulkResult | BulkJob = bulk.bulk_change_matching(
                ticket_ids=list(matching), action=action, value=value, by=user
            )
        else:
            picked = [i for i in request.POST.getlist("ids") if i.isdigit()]
            if not picked:
                messages.info(request, "Tick some tickets first.")
                return redirect(back)
            outcome = bulk.bulk_change(ids=picked, action=action, value=value, by=user)
    except services.TicketError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    if isinstance(outcome, BulkJob):
        messages.info(request, f"Working on {outcome.total} tickets in the background.")
        return redirect(f"{back}{'&' if '?' in back else '?'}job={outcome.pk}")
    result = outcome
    text = f"{len(result.updated)} ticket{'s' if len(result.updated) != 1 else ''} updated."
    if result.failed:
        details = ", ".join(f"#{f['id']} ({f['code']})" for f in result.failed[:10])
        messages.warning(request, f"{text} Not changed: {details}.")
    else:
        messages.success(request, text)
    return redirect(back)


@login_required
@require_GET
def inbox_bulk_job(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress box of a background bulk job (htmx polls it until done)."""
    job = get_object_or_404(BulkJob, pk=pk, by=request.user)
    return render(request, "tickets/partials/bulk_job.html", {"bulk_job": job})


def _customer_kinds() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in CustomerKind.choices]  # labels are lazy


# --- ticket page ---------------------------------------------------------------------------------


def _get_ticket_for_agent(request: HttpRequest, pk: int) -> Ticket:
    # Every role works tickets (PRODUCT.md: any employee takes shifts); login is the access check.
    return get_object_or_404(
        Ticket.objects.select_related("customer", "assignee").prefetch_related("tags"), pk=pk
    )


def _thread(ticket: Ticket) -> list[Message]:
    return list(
        ticket.messages.select_related("author_user", "author_customer").prefetch_related(
            "attachments"
        )
    )


def _customer_context(ticket: Ticket) -> dict[str, Any]:
    customer = ticket.customer
    orders: QuerySet[Order] = customer.orders.prefetch_related("items", "shipments")[:10]
    past = (
        customer.tickets.exclude(pk=ticket.pk)
        .only("id", "subject", "status", "created_at", "customer_id")
        .order_by("-created_at")[:10]
    )
    return {
        "customer": customer,
        "customer_emails": list(customer.emails.all()),
        "orders": list(orders),
        "past_tickets": list(past),
    }


def _render_ticket(
    request: HttpRequest,
    ticket: Ticket,
    *,
    reply_form: ReplyForm | None = None,
    update_form: TicketUpdateForm | None = None,
    follow_up_form: FollowUpForm | None = None,
    collision: list[Message] | None = None,
    status: int = 200,
) -> HttpResponse:
    thread = _thread(ticket)
    last_id = thread[-1].pk if thread else 0
    if reply_form is None:
        reply_form = ReplyForm(initial={"internal": "0", "last_seen_message_id": last_id})
    if update_form is None:
        update_form = TicketUpdateForm(
            initial={
                "status": ticket.status,
                "priority": ticket.priority,
                "type": ticket.type,
                "assignee": ticket.assignee_id,
                "tags": ", ".join(t.name for t in ticket.tags.all()),
            }
        )
    draft_ids = [
        int(part)
        for part in str(reply_form.data.get("attachment_ids", "")).split(",")
        if part.isdigit()
    ][: attachment_services.MAX_IDS]
    context = {
        "nav": "inbox",
        "ticket": ticket,
        "draft_files": list(Attachment.objects.filter(pk__in=draft_ids, message__isnull=True))
        if draft_ids
        else [],
        "thread": thread,
        "last_message_id": last_id,
        "reply_form": reply_form,
        "update_form": update_form,
        "follow_up_form": follow_up_form or FollowUpForm(),
        "follow_ups": list(
            ticket.follow_ups.filter(status=FollowUpStatus.SCHEDULED).select_related("created_by")
        ),
        "collision": collision or [],
        "server_timezone": timezone.get_current_timezone_name(),
        "next_business_morning": _next_business_morning(),
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "contact_kinds": _customer_kinds(),
        "wait_facts": _wait_facts(ticket),
        **_customer_context(ticket),
    }
    return render(request, "tickets/ticket.html", context, status=status)


def _wait_facts(ticket: Ticket) -> list[tuple[str, datetime, bool]]:
    """What the ticket page says about the customer's wait: (words, instant, too long?)."""
    now = timezone.now()
    facts: list[tuple[str, datetime, bool]] = []
    if ticket.customer_waiting_since is not None and ticket.is_open:
        facts.append(("Customer waiting since", ticket.customer_waiting_since, False))
    for label, due in (
        ("first reply", ticket.first_response_due_at),
        ("resolution", ticket.resolution_due_at),
    ):
        if due is None:
            continue
        if due <= now:
            facts.append((f"Customer waited too long for a {label} since", due, True))
        else:
            facts.append((f"Customer will have waited too long for a {label} at", due, False))
    return facts


@login_required
@require_GET
def ticket_detail(request: AgentRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket_for_agent(request, pk)
    services.mark_read(ticket.pk, user=request.user)
    return _render_ticket(request, ticket)


def _store_uploads(request: HttpRequest, source: str, **fields: Any) -> list[int]:
    """Store the files of a form's `files` field; AttachmentError for an empty or too large one."""
    uploads = request.FILES.getlist("files")
    if len(uploads) > attachment_services.MAX_IDS:
        raise attachment_services.AttachmentError(
            f"At most {attachment_services.MAX_IDS} files at once", code="too_many"
        )
    contents = [(u.name or "", attachment_services.read_upload(u)) for u in uploads]
    return [
        attachment_services.create_attachment(
            content=content, filename=name, source=source, **fields
        ).pk
        for name, content in contents
    ]


def _with_attachments(request: HttpRequest, ids: list[int], **changes: str) -> ReplyForm:
    """The reply form again, keeping the draft and the files already uploaded with it."""
    post = request.POST.copy()
    post["attachment_ids"] = ",".join(str(i) for i in ids)
    for key, value in changes.items():
        post[key] = value
    form = ReplyForm(post)
    form.is_valid()
    return form


@login_required
@require_POST
def ticket_reply(request: AgentRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket_for_agent(request, pk)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _render_ticket(request, ticket, reply_form=form, status=400)
    data = form.cleaned_data
    try:
        new_ids = _store_uploads(request, Source.AGENT, uploaded_by=request.user)
    except attachment_services.AttachmentError as exc:
        form.add_error("body", str(exc))
        return _render_ticket(request, ticket, reply_form=form, status=exc.status)
    attachment_ids = [*data["attachment_ids"], *new_ids]
    seen = data.get("last_seen_message_id") or 0
    if not data["confirm"]:
        # Warn at send time (PRODUCT.md): a public message the agent has not seen means the
        # conversation moved on; keep the draft (and its files) and let them read it first.
        newer = list(
            ticket.messages.filter(pk__gt=seen, internal=False).select_related(
                "author_user", "author_customer"
            )
        )
        if newer:
            form = _with_attachments(
                request,
                attachment_ids,
                confirm="True",
                last_seen_message_id=str(max(m.pk for m in newer)),
            )
            return _render_ticket(request, ticket, reply_form=form, collision=newer, status=409)
    try:
        services.add_agent_reply(
            ticket,
            by=request.user,
            body_text=data["body"],
            internal=data["internal"],
            status=data["status"] or None,
            attachment_ids=attachment_ids,
        )
    except services.TicketError as exc:
        form = _with_attachments(request, attachment_ids)
        form.add_error("body", str(exc))
        return _render_ticket(request, ticket, reply_form=form, status=400)
    messages.success(request, "Internal note added." if data["internal"] else "Reply sent.")
    return redirect("tickets:ticket", pk=ticket.pk)


@login_required
@require_POST
def ticket_contact_kind(request: HttpRequest, pk: int) -> HttpResponse:
    """The sidebar's "this is a vendor / candidate / employee" switch for the ticket's contact."""
    from customers.services import CustomerError, update_customer

    ticket = _get_ticket_for_agent(request, pk)
    try:
        update_customer(ticket.customer, kind=request.POST.get("kind", ""))
    except CustomerError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Contact is now: {ticket.customer.get_kind_display()}.")
    return redirect("tickets:ticket", pk=ticket.pk)


def _props_status(text: str, *, ok: bool) -> HttpResponse:
    """The ticket page saves its properties on change (htmx): one line says how that went; a
    refusal is a 422 fragment, which static/js/app.js swaps in like a success."""
    html = format_html('<span class="{}" role="{}">{}</span>', "ok" if ok else "error",
                       "status" if ok else "alert", text)  # fmt: skip
    return HttpResponse(html, status=200 if ok else 422)


@login_required
@require_POST
def ticket_update(request: AgentRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket_for_agent(request, pk)
    form = TicketUpdateForm(request.POST)
    if not form.is_valid():
        if request.htmx:  # saved on change: the error goes where the field is
            return _props_status(form.errors.as_text(), ok=False)
        return _render_ticket(request, ticket, update_form=form, status=400)
    data = form.cleaned_data
    try:
        changes = services.TicketChanges(
            status=data["status"],
            priority=data["priority"],
            type=data["type"],
            tags=form.tag_names(),
            reassign=True,  # the form always says who has it (empty: nobody)
            assignee=data["assignee"],
        )
        services.change_ticket(ticket, by=request.user, changes=changes)
    except services.TicketError as exc:
        if request.htmx:
            return _props_status(str(exc), ok=False)
        form.add_error(None, str(exc))
        return _render_ticket(request, ticket, update_form=form, status=400)
    if request.htmx:
        return _props_status(f"Saved at {timezone.localtime():%H:%M:%S}.", ok=True)
    messages.success(request, "Ticket updated.")
    return redirect("tickets:ticket", pk=ticket.pk)


@login_required
@require_POST
def ticket_merge(request: AgentRequest, pk: int) -> HttpResponse:
    from tickets.merging import merge_ticket

    ticket = _get_ticket_for_agent(request, pk)
    raw = request.POST.get("into", "").strip().lstrip("#")
    into = Ticket.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    if into is None:
        messages.error(request, "Give the number of the ticket to merge into.")
        return redirect("tickets:ticket", pk=ticket.pk)
    try:
        survivor = merge_ticket(ticket, into=into, by=request.user)
    except services.TicketError as exc:
        messages.error(request, str(exc))
        return redirect("tickets:ticket", pk=ticket.pk)
    messages.success(request, f"Ticket #{ticket.pk} was merged into this one.")
    return redirect("tickets:ticket", pk=survivor.pk)


@login_required
@require_POST
def ticket_spam(request: AgentRequest, pk: int) -> HttpResponse:
    from tickets import spam

    ticket = _get_ticket_for_agent(request, pk)
    try:
        if request.POST.get("spam") == "0":
            spam.mark_not_spam(ticket, by=request.user)
            messages.success(request, "Not spam: the ticket is back in the inbox.")
        else:
            spam.mark_spam(ticket, by=request.user)
            if request.POST.get("block"):
                address = ticket.customer.primary_email
                pattern = (
                    address.rpartition("@")[2] if request.POST["block"] == "domain" else address
                )
                if request.user.has_role("admin") and pattern:
                    spam.block_sender(pattern, by=request.user)
                    messages.info(request, f"Blocked {pattern}.")
            messages.success(request, "Marked spam.")
    except services.TicketError as exc:
        messages.error(request, str(exc))
    return redirect("tickets:ticket", pk=ticket.pk)


@login_required
@require_POST
def ticket_merge_contact(request: HttpRequest, pk: int) -> HttpResponse:
    """The sidebar's "merge this contact into another" (by the other's email or id)."""
    from customers.models import Customer, CustomerEmail
    from customers.services import CustomerError, merge_customers

    ticket = _get_ticket_for_agent(request, pk)
    raw = request.POST.get("into", "").strip().lower()
    into = (
        Customer.objects.filter(pk=int(raw)).first()
        if raw.isdigit()
        else getattr(
            CustomerEmail.objects.filter(address=raw).select_related("customer").first(),
            "customer",
            None,
        )
    )
    if into is None:
        messages.error(request, "No contact with that email or number.")
        return redirect("tickets:ticket", pk=ticket.pk)
    try:
        merge_customers(ticket.customer, into=into)
    except CustomerError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Contact merged into {into.display_name}.")
    return redirect("tickets:ticket", pk=ticket.pk)


def _next_business_morning() -> datetime | None:
    try:
        return services.next_business_morning()
    except services.TicketError:
        return None


@login_required
@require_POST
def follow_up_create(request: AgentRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket_for_agent(request, pk)
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        return _render_ticket(request, ticket, follow_up_form=form, status=400)
    try:
        send_at = (
            services.next_business_morning()
            if form.next_business_morning
            else form.cleaned_data["send_at"]
        )
        services.schedule_follow_up(
            ticket,
            by=request.user,
            send_at=send_at,
            body=form.cleaned_data["body"],
        )
    except services.TicketError as exc:
        form.add_error(None, str(exc))
        return _render_ticket(request, ticket, follow_up_form=form, status=400)
    messages.success(request, "Follow-up scheduled.")
    return redirect("tickets:ticket", pk=ticket.pk)


@login_required
@require_POST
def follow_up_cancel(request: HttpRequest, pk: int, follow_up_id: int) -> HttpResponse:
    ticket = _get_ticket_for_agent(request, pk)
    follow_up = get_object_or_404(FollowUp, pk=follow_up_id, ticket=ticket)
    if services.cancel_follow_up(follow_up):
        messages.success(request, "Follow-up cancelled.")
    else:
        messages.info(request, "That follow-up was already sent or cancelled.")
    return redirect("tickets:ticket", pk=ticket.pk)


# --- customer web form -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@ratelimit("web-form")
def web_form(request: HttpRequest) -> HttpResponse:
    form = WebTicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not form.is_bot():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    # The form spoke their browser's language: later emails speak it too.
                    customer = customer_for_email(
                        data["email"], name=data["name"], language=request.LANGUAGE_CODE
                    )
                    ticket, message = services.create_ticket(
                        services.NewTicket(
                            customer=customer,
                            subject=data["subject"],
                            body_text=data["message"],
                            channel=Channel.WEB,
                        )
                    )
                    # Files with the request: stored on the first message, or nothing at all.
                    _store_uploads(request, Source.WEB, ticket_id=ticket.pk, message_id=message.pk)
            except attachment_services.AttachmentError as exc:
                form.add_error(None, f"{exc}. Nothing was sent; please try again.")
                return render(
                    request,
                    "tickets/web_form.html",
                    {"form": form, "max_upload_mb": settings.SUPPORTDESK_MAX_UPLOAD_MB},
                    status=exc.status,
                )
        # A bot sees the same thank-you page, so the honeypot gives nothing away.
        return redirect(reverse("tickets:web_form_thanks"))
    return render(
        request,
        "tickets/web_form.html",
        {"form": form, "max_upload_mb": settings.SUPPORTDESK_MAX_UPLOAD_MB},
    )


@require_GET
def web_form_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "tickets/web_form_thanks.html")
