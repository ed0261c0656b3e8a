from __future__ import annotations

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from accounts import urls as accounts_urls
from accounts import views as accounts_views
from core.ratelimit import ratelimit
from supportdesk.api import api
from supportdesk.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico on every page that names none (the API docs, raw files).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("api/v1/", api.urls),
    # The admin has no login form of its own: it sends people to /login/ (second factor included).
    path("admin/login/", ratelimit("login-ip")(secure_admin_login(admin.site.login))),
    path("admin/", admin.site.urls),
    # allauth's login (then the second factor), limited by address; guessing one account from
    # many addresses meets a challenge, not a lockout (accounts/throttle.py).
    path("login/", accounts_views.login_view, name="login"),
    path("logout/", accounts_views.LogoutView.as_view(), name="logout"),
    path("password/", accounts_views.password_change_view, name="password_change"),
    path(
        "password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"
    ),
    # allauth (second factors, reauthentication, sign-in codes, single sign-on); a few of its
    # paths are answered by accounts/ first (accounts/urls.py).
    path("accounts/", include(accounts_urls.overrides)),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("privacy.urls")),
    path("outbox/", include("mailer.urls")),
    path("", include("tickets.urls")),
    path("", include("livechat.urls")),
    path("", include("wow_credits.urls")),
    path("", include("care.urls")),
    path("", include("csat.urls")),
    path("", include("snippets.urls")),
    path("", include("mailboxes.urls")),
    path("", include("team.urls")),
    path("", include("helpcenter.urls")),
    path("", include("attachments.urls")),
    path("", include("audit.urls")),
    path("", include("hours.urls")),
    path("", include("teams.urls")),
    path("", include("reports.urls")),
]

# A database outage outside a view is a clean 503 too (supportdesk/middleware.py).
handler500 = "supportdesk.middleware.server_error"
