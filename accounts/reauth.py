"""Ask for the second factor again before sensitive changes (adding a factor, changing the
password, creating API tokens, webhooks or mailboxes).

- Pages: decorate the view with `@second_factor_again`; a person who has not passed a second
  factor within SUPPORTDESK_REAUTH_SECONDS (default 300) is sent to allauth's reauthentication
  page and then brought back (a POST is replayed). A person with no factor yet (only possible
  with SUPPORTDESK_REQUIRE_2FA off) is asked for their password instead.
- API handlers: call `ensure_second_factor_again(request)`; it raises a 403
  `reauthentication_required` unless the session recently passed it. A bearer token never
  passes it: tokens cannot make tokens.
- Webhooks and mailboxes (`ensure_second_factor_again(request, admin_token_passes=True)`): a
  session must have passed the factor recently, like the pages; a bearer token with the `admin`
  scope passes. Why a token is enough there: the token itself could only be made by a session
  that had just passed the second factor (`POST /api/v1/tokens`, `/tokens/new/`) or by an operator
  on the server (`manage.py issue_api_token`), its `admin` scope had to be asked for explicitly,
  and it can expire and be revoked; asking it for a factor it cannot give would only push
  integrations (provisioning scripts) back to sessions. A token without `admin` acts as a manager
  and is refused by the admin-only routers before this runs.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from allauth.account import app_settings as account_settings
from allauth.account.internal.flows import reauthentication
from allauth.account.internal.flows.login import get_authentication_records
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse

from accounts.models import Scope
from accounts.services import has_second_factor

_R = TypeVar("_R", bound=HttpResponseBase)


def recently_verified(request: HttpRequest) -> bool:
    """True when this session passed a second factor (at login or since) within the timeout; for a
    person without any factor, when they recently re-entered their password."""
    user = request.user
    if not user.is_authenticated or getattr(request, "api_token", None):
        return False
    if not has_second_factor(user):
        return reauthentication.did_recently_reauthenticate(request)
    records = get_authentication_records(request, user)
    now = time.time()
    return any(
        r.get("method") == "mfa"
        and now - float(r.get("at", 0)) < account_settings.REAUTHENTICATION_TIMEOUT
        for r in records
    )


def second_factor_again(view: Callable[..., _R]) -> Callable[..., _R | HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> _R | HttpResponse:
        if request.user.is_authenticated and not recently_verified(request):
            if has_second_factor(request.user):
                target = reverse("mfa_reauthenticate")
            else:
                target = reverse("account_reauthenticate")
            return reauthentication.suspend_request(request, target)
        return view(request, *args, **kwargs)

    return wrapped


def ensure_second_factor_again(request: HttpRequest, *, admin_token_passes: bool = False) -> None:
    if recently_verified(request):
        return
    token = getattr(request, "api_token", None)
    if admin_token_passes and token is not None and Scope.ADMIN.value in (token.scopes or []):
        return
    from core.api import ApiError

    raise ApiError(
        403,
        "Confirm your second factor again first (POST from a session that passed it within "
        "the last minutes; at /accounts/2fa/reauthenticate/)",
        "reauthentication_required",
    )
