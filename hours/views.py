"""The admin's business hours page: one form, each day as "09:00-13:00, 14:00-18:00"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.http import AgentRequest
from accounts.models import Role
from hours import services
from teams.models import Team

DAY_NAMES = dict(zip(services.DAYS, ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                     "Saturday", "Sunday"], strict=True))  # fmt: skip


def _parse_ranges(text: str) -> list[list[str]]:
    ranges = []
    for part in text.replace(";", ",").split(","):
        if part.strip():
            start, _, end = part.strip().partition("-")
            ranges.append([start.strip(), end.strip()])
    return ranges


@login_required
@require_http_methods(["GET", "POST"])
def hours_page(request: AgentRequest) -> HttpResponse:
    """The shop's hours, or with `?team=<slug>` one team's own hours (a team without them
    follows the shop's; "Use the shop's hours" drops them)."""
    if not request.user.has_role(Role.ADMIN):
        raise PermissionDenied("Only an admin may change business hours")
    slug = request.GET.get("team", "")
    try:
        team = services.team_by_slug(slug) if slug else None
    except services.HoursError:
        raise Http404("No such team") from None
    own = services.has_own_hours(team) if team else True
    hours = services.current(team_id=team.pk if team else None)
    values = {
        "timezone": hours.timezone,
        "holidays": "\n".join(hours.holidays),
        **{day: ", ".join(f"{a}-{b}" for a, b in hours.week.get(day, [])) for day in services.DAYS},
    }
    page = reverse("hours:page") + (f"?team={team.slug}" if team else "")
    error = ""
    if request.method == "POST" and team is not None and "use_shop_hours" in request.POST:
        services.use_shop_hours(team, by=request.user)
        messages.success(request, f"{team.name} follows the shop's hours again.")
        return redirect(page)
    if request.method == "POST":
        values = {key: request.POST.get(key, "")[:500] for key in values}
        try:
            services.set_hours(
                timezone=values["timezone"].strip(),
                week={day: _parse_ranges(values[day]) for day in services.DAYS},
                holidays=[d.strip() for d in values["holidays"].split() if d.strip()],
                by=request.user,
                team=team,
            )
        except services.HoursError as exc:
            error = str(exc)
        else:
            messages.success(request, "Business hours saved.")
            return redirect(page)
    return render(
        request,
        "hours/hours.html",
        {
            "nav": "hours",
            "values": values,
            "days": [(day, DAY_NAMES[day], values[day]) for day in services.DAYS],
            "error": error,
            "open": services.is_open(hours),
            "next_open_at": services.next_open_at(hours),
            "team": team,
            "own_hours": own,
            "teams": Team.objects.order_by("name"),
            "page": page,
        },
        status=422 if error else 200,
    )
