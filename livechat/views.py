"""Pages of live chat: the widget script, the demo shop that embeds it, and the agent console."""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from accounts.models import User
from teams.models import Team

WIDGET_PATH = Path(settings.BASE_DIR) / "static" / "widget.js"


@lru_cache(maxsize=1)
def _widget_source(mtime: float) -> bytes:
    return WIDGET_PATH.read_bytes()


@require_GET
def widget_js(request: HttpRequest) -> HttpResponse:
    """The embeddable script, served from the site root so shops copy one short tag."""
    source = _widget_source(WIDGET_PATH.stat().st_mtime)
    response = HttpResponse(source, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    # Any shop may embed it; the API and socket check origin and tokens themselves.
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def demo_shop(request: HttpRequest) -> HttpResponse:
    """The demo shop. With SUPPORTDESK_DEMO_SHOP_LOGIN on (the embedded profile), `?login=EMAIL`
    plays a shopper signed in on the shop: the page hands the widget a `user_hash` that expires in
    an hour, as a real shop's server would. Off in production: it would sign anyone's address."""
    shopper = None
    login = request.GET.get("login", "").strip().lower()[:254]
    if settings.SUPPORTDESK_DEMO_SHOP_LOGIN and "@" in login:
        from livechat.services import expected_user_hash

        shopper = {
            "email": login,
            "name": request.GET.get("name", "").strip()[:200],
            "user_hash": expected_user_hash(login, int(time.time()) + 3600),
        }
    # `?team=returns`: the widget tag names a team (data-team), as a shop's returns page would.
    team = slugify(request.GET.get("team", ""))[:50]
    return render(request, "livechat/demo_shop.html", {"shopper": shopper, "team": team})


@login_required
@require_GET
def console(request: HttpRequest) -> HttpResponse:
    agents = User.objects.filter(is_active=True).only("id", "name", "email")[:200]
    return render(
        request,
        "livechat/console.html",
        {
            "nav": "chats",
            "agents": agents,
            "teams": Team.objects.only("id", "name")[:100],
            "routing": settings.SUPPORTDESK_CHAT_ROUTING,
        },
    )
