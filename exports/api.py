"""CSV exports (manager): tickets, grants, CSAT and hours, streamed, with the pages' filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from accounts.api_auth import role_auth
from accounts.http import AgentRequest
from exports import services

router = Router(tags=["exports"], auth=role_auth("manager"))


class Range(Schema):
    from_: date | None = Field(None, alias="from", description="First day (inclusive)")
    to: date | None = Field(None, description="Last day (inclusive)")


class TicketExportFilters(Range):
    view: str | None = Field(None, max_length=20)
    status: str | None = Field(None, max_length=16)
    type: str | None = Field(None, max_length=16)
    channel: str | None = Field(None, max_length=16)
    assignee: int | None = None
    kind: str | None = Field(None, max_length=16)
    tag: str | None = Field(None, max_length=50)
    q: str | None = Field(None, max_length=200)
    mailbox: int | None = None


class GrantExportFilters(Range):
    kind: str | None = Field(None, max_length=32)
    agent: int | None = None


def _manager(request: AgentRequest) -> None:
    if not request.user.has_role("manager"):
        raise PermissionDenied("Exports are for managers")


def _window(field: str, rng: Range) -> Q:
    condition = Q()
    tz = timezone.get_current_timezone()
    if rng.from_:
        condition &= Q(**{f"{field}__gte": datetime.combine(rng.from_, time.min, tz)})
    if rng.to:
        condition &= Q(**{f"{field}__lte": datetime.combine(rng.to, time.max, tz)})
    return condition


def _response(
    request: HttpRequest, name: str, lines: Iterator[str], filters: Schema | None = None
) -> StreamingHttpResponse:
    from audit.services import record

    record(
        "export.downloaded",
        object_type="export",
        object_id=name,
        detail={
            "filters": {k: str(v) for k, v in filters.dict(exclude_none=True).items()}
            if filters
            else {}
        },
    )
    # Under daphne, core.streaming.StreamUnderAsgiMiddleware pulls the lines one chunk at a time
    # on this request's thread, where the transaction and its server-side cursor live.
    response = StreamingHttpResponse(
        services.in_one_transaction(lines), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get(
    "/exports/tickets.csv",
    summary="Tickets as CSV, with the inbox's filters (manager)",
    response={200: None},
)
def tickets_csv(
    request: AgentRequest, filters: Query[TicketExportFilters]
) -> StreamingHttpResponse:
    from tickets import selectors

    _manager(request)
    qs = selectors.filtered(
        user=request.user,
        filters=selectors.InboxFilters(
            view=filters.view if filters.view in selectors.InboxView._value2member_map_ else None,
            status=filters.status,
            type=filters.type,
            channel=filters.channel,
            assignee_id=filters.assignee,
            customer_kind=filters.kind,
            tag=filters.tag,
            q=filters.q,
            mailbox_id=filters.mailbox,
        ),
    ).filter(_window("created_at", filters))
    return _response(
        request,
        "tickets",
        services.csv_lines(services.TICKET_HEADER, services.ticket_rows(qs)),
        filters,
    )


@router.get("/exports/grants.csv", summary="WOW grants as CSV (manager)", response={200: None})
def grants_csv(request: AgentRequest, filters: Query[GrantExportFilters]) -> StreamingHttpResponse:
    from wow_credits.models import Grant

    _manager(request)
    qs = Grant.objects.filter(_window("created_at", filters))
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.agent:
        qs = qs.filter(agent_id=filters.agent)
    fields = (
        "id", "kind", "status", "amount", "currency", "reason", "agent__email", "customer_id",
        "order__external_id", "ticket_id", "created_at", "executed_at",
    )  # fmt: skip
    header = [f.replace("__", "_") for f in fields]
    return _response(
        request,
        "grants",
        services.csv_lines(header, services.stream(qs.order_by("id"), fields)),
        filters,
    )


@router.get("/exports/csat.csv", summary="CSAT ratings as CSV (manager)", response={200: None})
def csat_csv(request: AgentRequest, filters: Query[Range]) -> StreamingHttpResponse:
    from csat.models import Survey

    _manager(request)
    qs = Survey.objects.filter(_window("requested_at", filters))
    fields = (
        "id", "ticket_id", "conversation_id", "customer_id", "agent__email", "rating", "comment",
        "requested_at", "rated_at",
    )  # fmt: skip
    header = [f.replace("__", "_") for f in fields]
    return _response(
        request,
        "csat",
        services.csv_lines(header, services.stream(qs.order_by("id"), fields)),
        filters,
    )


@router.get(
    "/exports/hours.csv",
    summary="Everyone's support time (activity spans) as CSV (manager)",
    response={200: None},
)
def hours_csv(request: AgentRequest, filters: Query[Range]) -> StreamingHttpResponse:
    from team.models import ActivitySpan

    _manager(request)
    qs = ActivitySpan.objects.filter(_window("started_at", filters))
    fields = ("id", "user__email", "user__name", "started_at", "last_seen_at", "seconds", "source")
    header = ["id", "email", "name", "started_at", "last_seen_at", "seconds", "source"]
    return _response(
        request,
        "hours",
        services.csv_lines(header, services.stream(qs.order_by("id"), fields)),
        filters,
    )
