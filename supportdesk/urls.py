from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from core.ratelimit import login_username, ratelimit
from supportdesk.api import api
from supportdesk.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico on every page that names none (the API docs, raw files).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("api/v1/", api.urls),
    # The admin's own login form is the same door as /login/, so it has the same limits.
    path(
        "admin/login/",
        ratelimit("login-ip")(ratelimit("login-user", key=login_username)(admin.site.login)),
    ),
    path("admin/", admin.site.urls),
    path(
        "login/",
        # Limited by address and by the account named, so guessing is slow from one or many hosts.
        ratelimit("login-ip")(
            ratelimit("login-user", key=login_username)(
                auth_views.LoginView.as_view(redirect_authenticated_user=True)
            )
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"
    ),
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
]

# A database outage outside a view is a clean 503 too (supportdesk/middleware.py).
handler500 = "supportdesk.middleware.server_error"
