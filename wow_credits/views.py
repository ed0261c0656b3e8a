"""WOW pages: the wall, nominating a story, celebrating, manager reports and the grant dialog."""

from __future__ import annotations

import contextlib
import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AgentRequest
from accounts.models import User
from customers.models import Customer, Order
from wow_credits import ledger, limits, services
from wow_credits.models import Celebration, CoreValue, Grant, GrantKind, GrantStatus, Story

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _pk(value: str | None) -> int:
    """An id from a form for a lookup: 0 (which no row has) when absent or not a number."""
    return _int(value) or 0


@login_required
@require_GET
def wall(request: AgentRequest) -> HttpResponse:
    f = {k: request.GET.get(k, "") for k in ("value", "agent", "team", "kind", "period")}
    qs = (
        Story.objects.select_related("author", "subject_user")
        .prefetch_related("values", "grants__agent", "grants__order", "grants__recipient_user")
        .annotate(
            celebration_count=Count("celebrations", distinct=True),
            celebrated=Exists(
                Celebration.objects.filter(story=OuterRef("pk"), user_id=request.user.pk)
            ),
        )
    )
    if f["value"]:
        qs = qs.filter(values__slug=f["value"])
    agent = _int(f["agent"])
    if agent:
        qs = qs.filter(Q(author_id=agent) | Q(subject_user_id=agent) | Q(grants__agent_id=agent))
    if f["team"]:
        qs = qs.filter(Q(author__team=f["team"]) | Q(subject_user__team=f["team"]))
    if f["kind"]:
        qs = qs.filter(grants__kind=f["kind"])
    if f["period"] in PERIODS:
        qs = qs.filter(created_at__gte=timezone.now() - timedelta(days=PERIODS[f["period"]]))
    before = _int(request.GET.get("before"))
    if before:
        qs = qs.filter(pk__lt=before)
    stories = list(qs.distinct().order_by("-id")[:31])
    more = len(stories) > 30
    stories = stories[:30]
    for story in stories:
        story.cost = sum((g.amount or Decimal("0")) for g in story.grants.all())
    context = {
        "nav": "wall",
        "stories": stories,
        "next_before": stories[-1].pk if more else None,
        "filters": f,
        "values": CoreValue.objects.all(),
        "agents": User.objects.filter(is_active=True).only("id", "name", "email"),
        "teams": User.objects.exclude(team="").values_list("team", flat=True).distinct(),
        "kinds": GrantKind.choices,
        "periods": [
            ("7d", "Last 7 days"),
            ("30d", "Last 30 days"),
            ("90d", "Last 90 days"),
            ("365d", "Last year"),
        ],
    }
    return render(request, "wow_credits/wall.html", context)


@login_required
@require_POST
def celebrate(request: AgentRequest, story_id: int) -> HttpResponse:
    story = get_object_or_404(Story, pk=story_id)
    count = services.celebrate(story, by=request.user)
    if not request.htmx:
        return redirect("wow_credits:wall")
    return render(
        request,
        "wow_credits/partials/celebrate.html",
        {"story": story, "count": count, "celebrated": True},
    )


@login_required
def story_new(request: AgentRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    grant_ids = [int(g) for g in source.getlist("grant_ids") if g.isdigit()]
    for chunk in source.get("grants", "").split(","):  # ?grants=1,2 from a grant or ticket page
        if chunk.strip().isdigit():
            grant_ids.append(int(chunk))
    if request.method != "POST" and not grant_ids:
        # Nominated from a chat or a ticket: link what was granted there (not what was undone).
        linked = Q(chat_id=_int(source.get("chat_id"))) if _int(source.get("chat_id")) else Q()
        if _int(source.get("ticket_id")):
            linked |= Q(ticket_id=_int(source.get("ticket_id")))
        if linked:
            grant_ids = list(
                Grant.objects.filter(linked)
                .exclude(status=GrantStatus.UNDONE)
                .order_by("id")
                .values_list("pk", flat=True)[:50]
            )
    form: dict[str, Any] = {
        "title": source.get("title", ""),
        "story": source.get("story", ""),
        "values": source.getlist("values"),
        "ticket_id": source.get("ticket_id", ""),
        "chat_id": source.get("chat_id", ""),
        "subject_user": source.get("subject_user", ""),
        "grant_ids": grant_ids,
    }
    error = ""
    if request.method == "POST":
        subject_id = _int(form["subject_user"])
        try:
            services.nominate_story(
                by=request.user,
                title=form["title"],
                story=form["story"],
                values=form["values"],
                ticket_id=_int(form["ticket_id"]),
                chat_id=_int(form["chat_id"]),
                grant_ids=grant_ids,
                subject_user=User.objects.filter(pk=subject_id).first() if subject_id else None,
            )
        except services.GrantError as exc:
            error = str(exc)
        else:
            return redirect("wow_credits:wall")
    context = {
        "nav": "wall",
        "form": form,
        "error": error,
        "values": CoreValue.objects.all(),
        "coworkers": User.objects.filter(is_active=True).exclude(pk=request.user.pk),
        "grants": Grant.objects.filter(pk__in=grant_ids).select_related("agent"),
    }
    return render(request, "wow_credits/story_form.html", context, status=422 if error else 200)


def _dialog_context(request: HttpRequest, source: Any) -> dict[str, Any]:
    customer = Customer.objects.filter(pk=_pk(source.get("customer_id"))).first()
    order = Order.objects.filter(pk=_pk(source.get("order_id"))).select_related("customer").first()
    if order is not None and customer is None:
        customer = order.customer
    chat_id = _int(source.get("chat_id"))
    claim = ""
    if chat_id is not None:
        from livechat.models import Conversation

        chat = Conversation.objects.filter(pk=chat_id).select_related("customer").first()
        if chat is not None and not chat.verified:
            # An unverified visitor's claim: nothing of that customer is shown here; a grant goes
            # to the address's owner, flagged, and is confirmed by email only.
            claim = chat.visitor_email
        elif customer is None and chat is not None:
            customer = chat.customer
    if claim and customer is None and request.method == "POST":
        from customers.services import customer_for_email

        customer = customer_for_email(claim)
    orders = list(customer.orders.all()[:20]) if customer is not None and not claim else []
    if order is None and "order_id" not in source and orders:
        # Opened from a chat or ticket without an order: the latest one is the likely subject.
        order = orders[0]
    return {
        "customer": customer,
        "order": order,
        "orders": orders,
        "ticket_id": source.get("ticket_id", ""),
        "chat_id": source.get("chat_id", ""),
        "kinds": [k for k in GrantKind.choices if k[0] != GrantKind.COWORKER_BONUS],
        "idempotency_key": secrets.token_urlsafe(16),
        "notes": services.guardrails(customer=customer, order=order),
        "unverified_claim": claim,
        "limits": [
            limits.describe(limit, order.currency if order is not None else "")
            for limit in limits.all_limits()
        ],
        "max_percent": limits.max_percent(),
    }


@login_required
def grant_dialog(request: AgentRequest) -> HttpResponse:
    """GET: the grant form (a fresh idempotency key per render). POST: make the grant."""
    if request.method != "POST":
        # ?kind=&reason= prefill the dialog (a care task opens it with its suggested WOW).
        context = {**_dialog_context(request, request.GET), "form": request.GET}
        return render(request, "wow_credits/partials/grant_form.html", context)
    data = request.POST
    context = _dialog_context(request, data)
    details: dict[str, Any] = {}
    if data.get("address", "").strip():
        details["address"] = data["address"].strip()[:2000]
    if data.get("percent", "").strip():
        percent = _int(data["percent"].strip())
        details["percent"] = percent if percent is not None else data["percent"].strip()[:10]
    # For the team only: never part of the customer's confirmation (the reason is).
    if data.get("internal_note", "").strip():
        details["internal_note"] = data["internal_note"].strip()[:2000]
    try:
        grant, _ = services.grant(
            data.get("kind", ""),
            by=request.user,
            customer=context["customer"],
            order=context["order"],
            amount=data.get("amount") or None,
            reason=data.get("reason", ""),
            idempotency_key=data.get("idempotency_key", ""),
            ticket_id=_int(data.get("ticket_id")),
            chat_id=_int(data.get("chat_id")),
            details=details,
        )
    except services.GrantError as exc:
        context.update(error=str(exc), form=data, idempotency_key=data.get("idempotency_key", ""))
        return render(request, "wow_credits/partials/grant_form.html", context, status=exc.status)
    # The outcome, then a fresh dialog (a new idempotency key) keeping the reason and the order,
    # so several grants for one chat or ticket are one click each.
    context.update(
        grant=grant,
        form={"reason": data.get("reason", "")},
        idempotency_key=secrets.token_urlsafe(16),
        notes=services.guardrails(customer=context["customer"], order=context["order"]),
    )
    return render(request, "wow_credits/partials/grant_made.html", context)


@login_required
def bonus(request: AgentRequest) -> HttpResponse:
    """Give a coworker a bonus (scenario 8): recipient, amount within the allowance, reason."""
    user: User = request.user
    error = ""
    form = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        recipient = User.objects.filter(pk=_pk(form.get("recipient")), is_active=True).first()
        try:
            if recipient is None:
                raise services.GrantError("Choose a coworker", code="recipient_required")
            grant, _ = services.grant(
                GrantKind.COWORKER_BONUS,
                by=user,
                recipient=recipient,
                amount=form.get("amount") or None,
                reason=form.get("reason", ""),
                idempotency_key=form.get("idempotency_key", ""),
            )
        except services.GrantError as exc:
            error = str(exc)
        else:
            return render(request, "wow_credits/bonus.html", {"nav": "wall", "grant": grant})
    context = {
        "nav": "wall",
        "form": form,
        "error": error,
        "coworkers": User.objects.filter(is_active=True).exclude(pk=user.pk),
        "allowance": services.bonus_allowance(),
        "left": services.bonus_allowance() - ledger.bonuses_given_this_month(user),
        "idempotency_key": form.get("idempotency_key") or secrets.token_urlsafe(16),
    }
    return render(request, "wow_credits/bonus.html", context, status=422 if error else 200)


@login_required
@require_POST
def grant_undo(request: AgentRequest, grant_id: int) -> HttpResponse:
    grant = get_object_or_404(Grant, pk=grant_id)
    error = ""
    try:
        grant = services.undo_grant(grant, by=request.user)
    except services.GrantError as exc:
        error = str(exc)
        grant.refresh_from_db()
    return render(
        request,
        "wow_credits/partials/grant_done.html",
        {"grant": grant, "error": error},
        status=409 if error else 200,
    )


@login_required
@require_POST
def grant_retry(request: AgentRequest, grant_id: int) -> HttpResponse:
    grant = get_object_or_404(Grant, pk=grant_id)
    # The page shows the grant's current state either way.
    with contextlib.suppress(services.GrantError):
        services.retry_grant(grant, by=request.user)
    return redirect("reports:reports")
