"""Pages of accounts/: the login (allauth's flow under the old URL and field names), API tokens,
and the single sign-on callback that always checks the ID token's signature."""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import Any
from urllib.parse import urlencode

from allauth.account.views import LoginView as AllauthLoginView
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from accounts import auditing, services
from accounts.http import AgentRequest
from accounts.models import ALL_SCOPES, ApiToken, Role, Scope
from accounts.reauth import second_factor_again
from core.ratelimit import ratelimit

log = logging.getLogger(__name__)
ID_TOKEN_SESSION_KEY = "oidc_id_token"


class LoginView(AllauthLoginView):
    template_name = "registration/login.html"


# Limited by address (429); guessing one account from many addresses meets a challenge instead
# of a lockout (accounts/throttle.py).
login_view = ratelimit("login-ip")(LoginView.as_view())

password_change_view = login_required(
    second_factor_again(PasswordChangeView.as_view()), login_url="login"
)


@login_required
def reauthenticate(request: AgentRequest) -> HttpResponseBase:
    """allauth's password reauthentication, except for people with a second factor: for them
    only the factor counts as asking again (issue 14), so they go to the factor's page."""
    from allauth.account.views import reauthenticate as password_reauthenticate

    if services.has_second_factor(request.user):
        query = request.META.get("QUERY_STRING", "")
        return redirect(reverse("mfa_reauthenticate") + (f"?{query}" if query else ""))
    return password_reauthenticate(request)


def _expiry(value: str) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError("The expiry must be a date (YYYY-MM-DD)") from None
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


@login_required
def profile(request: AgentRequest) -> HttpResponse:
    """The agent's language for the agent app and the timezone its times are shown in."""
    user = request.user
    if request.method == "POST":
        try:
            services.update_profile(
                user,
                language=request.POST.get("language", ""),
                timezone_name=request.POST.get("timezone", ""),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return render(request, "accounts/profile.html", _profile_context(), status=422)
        with translation.override(user.language or translation.get_language()):
            messages.success(request, gettext("Your profile was saved."))
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", _profile_context())


def _profile_context() -> dict[str, Any]:
    return {
        "languages": settings.LANGUAGES,
        "timezones": services.timezone_choices(),
        "site_timezone": settings.TIME_ZONE,
        "now": timezone.now(),
    }


@login_required
def tokens(request: AgentRequest) -> HttpResponse:
    """Your API tokens (an admin sees everyone's): name, scopes, expiry, last used, revoke."""
    new_token = request.session.pop("new_api_token", None)
    return render(
        request,
        "accounts/tokens.html",
        {
            "tokens": services.visible_tokens(request.user),
            "scopes": [s for s in Scope if s != Scope.ADMIN or request.user.has_role(Role.ADMIN)],
            "new_token": new_token,
            "now": timezone.now(),
        },
    )


@require_POST
@login_required
@second_factor_again
def create_token(request: AgentRequest) -> HttpResponse:
    scopes = [s for s in request.POST.getlist("scopes") if s in ALL_SCOPES]
    try:
        raw = services.issue_api_token(
            request.user,
            name=request.POST.get("name", ""),
            scopes=scopes,
            expires_at=_expiry(request.POST.get("expires", "").strip()),
            by=request.user,
            **auditing.request_origin(request),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("accounts:tokens")
    # Shown once, on the next page load, then gone from the session.
    request.session["new_api_token"] = raw
    return redirect("accounts:tokens")


@require_POST
@login_required
def revoke_token(request: AgentRequest, token_id: int) -> HttpResponse:
    try:
        token = services.revoke_api_token(
            token_id,
            by=request.user,
            **auditing.request_origin(request),
        )
    except ApiToken.DoesNotExist:
        raise Http404("No such token") from None
    messages.success(request, f"Token {token.name or token.prefix} revoked.")
    return redirect("accounts:tokens")


class VerifyingOIDCAdapter(OpenIDConnectOAuth2Adapter):
    """allauth skips the ID token's signature when the token came straight from the token
    endpoint (allowed by OIDC Core 3.1.3.7); we check it always, against the issuer's JWKS."""

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict:
        # Kept for the logout at the provider (id_token_hint); the session is the person's own.
        self.request.session[ID_TOKEN_SESSION_KEY] = id_token
        return jwtkit.verify_and_decode(
            credential=id_token,
            keys_url=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            audience=app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
            verify_signature=True,
        )


class LogoutView(auth_views.LogoutView):
    """Ends the session; a single sign-on session is also ended at the identity provider
    (OpenID Connect RP-initiated logout), which then sends the person back to /login/."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        id_token = request.session.get(ID_TOKEN_SESSION_KEY, "")
        response = super().post(request, *args, **kwargs)
        if id_token and settings.SUPPORTDESK_OIDC_ISSUER:
            end_session = _end_session_endpoint()
            if end_session:
                query = urlencode(
                    {
                        "id_token_hint": id_token,
                        "client_id": settings.SUPPORTDESK_OIDC_CLIENT_ID,
                        "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
                    }
                )
                return HttpResponseRedirect(f"{end_session}?{query}")
        return response


def _end_session_endpoint() -> str:
    from allauth.socialaccount.adapter import get_adapter

    url = settings.SUPPORTDESK_OIDC_ISSUER + "/.well-known/openid-configuration"
    try:
        with get_adapter().get_requests_session() as session:
            response = session.get(url, timeout=5)
            response.raise_for_status()
            return str(response.json().get("end_session_endpoint", ""))
    except (OSError, ValueError):  # the provider is down: our own session is ended anyway
        log.warning("Could not read %s for the logout at the identity provider", url)
        return ""


def oidc_callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        view = OAuth2CallbackView.adapter_view(VerifyingOIDCAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
