"""The survey page a customer opens from the email: no login and no JavaScript needed."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from core.ratelimit import ratelimit
from core.security import parse_json
from csat import services
from csat.models import COMMENT_MAX, Survey


def _wants_json(request: HttpRequest) -> bool:
    return request.content_type == "application/json" or "application/json" in request.headers.get(
        "Accept", ""
    )


def _context(survey: Survey | None, **extra: Any) -> dict[str, Any]:
    from django.conf import settings

    return {
        "survey": survey,
        "ratings": list(reversed(services.RATINGS)),
        "comment_max": COMMENT_MAX,
        "company": settings.SUPPORTDESK_COMPANY_NAME,
        "changeable_until": services.changeable_until(survey) if survey else None,
        **extra,
    }


def _refused(
    request: HttpRequest, error: services.CsatError, survey: Survey | None = None, **extra: Any
) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": str(error), "code": error.code}, status=error.status)
    context = _context(survey, error=error, **extra)
    return render(request, "csat/survey.html", context, status=error.status)


# The signed token in the URL is the authorisation: the customer follows a link from an email,
# with no session and so no CSRF cookie to pair with a form token. A cross-site POST can only
# rate with a token the attacker already holds, which the signature and nonce bound to one survey.
@csrf_exempt
@ratelimit("csat")
@require_http_methods(["GET", "HEAD", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = services.survey_for_token(token)
    except services.CsatError as error:
        return _refused(request, error)
    # The page speaks the language the survey email was written in (the customer's, when known).
    language = services.survey_language(found) or translation.get_language()
    with translation.override(language):
        return _survey(request, token, found)


def _survey(request: HttpRequest, token: str, found: Survey) -> HttpResponse:
    if request.method != "POST":
        # GET never records: mail scanners and link previews open links too.
        preselected = request.GET.get("rating", "")
        chosen = int(preselected) if preselected in {"1", "2", "3", "4", "5"} else found.rating
        context = _context(found, chosen=chosen, comment=found.comment, token=token)
        return render(request, "csat/survey.html", context)
    if request.content_type == "application/json":
        try:
            data = parse_json(request.body or b"{}")
            if not isinstance(data, dict):
                raise ValueError
        except ValueError:
            refusal = services.CsatError(
                gettext("The body is not a JSON object."), code="invalid_json"
            )
            return _refused(request, refusal, found)
    else:
        data = request.POST
    try:
        rated = services.record_rating(token, data.get("rating"), data.get("comment", ""))
    except services.CsatError as error:
        return _refused(
            request,
            error,
            found,
            chosen=None,
            comment=str(data.get("comment", ""))[:COMMENT_MAX],
            token=token,
        )
    if _wants_json(request):
        return JsonResponse(
            {
                "rating": rated.rating,
                "comment": rated.comment,
                "rated_at": rated.rated_at.isoformat() if rated.rated_at else None,
                "changed_at": rated.changed_at.isoformat() if rated.changed_at else None,
                "changeable_until": services.changeable_until(rated).isoformat(),
            }
        )
    context = _context(rated, thanks=True, chosen=rated.rating, comment=rated.comment, token=token)
    return render(request, "csat/survey.html", context)


@login_required
@require_POST
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    """An agent sends the survey again (the customer lost the email); older links stop working."""
    found = get_object_or_404(Survey.objects.select_related("ticket"), pk=pk)
    services.resend(found)
    messages.success(request, f"The survey was sent again to {found.email}.")
    if found.ticket_id:
        return redirect("tickets:ticket", found.ticket_id)
    return redirect("/chats/")
