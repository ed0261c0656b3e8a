from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from supportdesk.api import api
from supportdesk.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
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
    path("", include("team.urls")),
]
