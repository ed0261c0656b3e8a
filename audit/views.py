"""The `/audit/` page (manager, admin) with filters and keyset paging, and its CSV export."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit import queries
from audit.services import record

PAGE_SIZE = 50


def _require_manager(request: HttpRequest) -> None:
    if not getattr(request.user, "is_manager", False):
        raise PermissionDenied("The audit log is for managers and admins")


def _params(request: HttpRequest) -> dict[str, str]:
    return {name: request.GET.get(name, "").strip()[:254] for name in queries.FILTERS}


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    params = _params(request)
    try:
        rows, next_cursor = queries.page(
            params, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
    except queries.BadCursor:
        rows, next_cursor = queries.page(params, cursor=None, limit=PAGE_SIZE)
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return render(
        request,
        "audit/log.html",
        {
            "nav": "audit",
            "entries": rows,
            "filters": params,
            "next_cursor": next_cursor,
            "query": query,
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def audit_csv(request: HttpRequest) -> StreamingHttpResponse:
    _require_manager(request)
    params = _params(request)
    with transaction.atomic():
        record("audit.exported", object_type="audit", detail={"filters": params})
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in queries.csv_rows(params)), content_type="text/csv"
    )
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response
