"""The API tokens pages (at /tokens/), and `overrides`: mounted at /accounts/ before allauth's
own URLs, so these answer first."""

from __future__ import annotations

from allauth.account.internal.decorators import login_not_required
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/new/", views.create_token, name="create_token"),
    path("tokens/<int:token_id>/revoke/", views.revoke_token, name="revoke_token"),
]

# Paths allauth also defines: ours answer first (same URL, stricter behaviour).
overrides = [
    path("login/", views.login_view),
    path("password/change/", views.password_change_view),
    path("reauthenticate/", views.reauthenticate, name="account_reauthenticate"),
    path(
        "oidc/<str:provider_id>/login/callback/",
        login_not_required(views.oidc_callback),
        name="openid_connect_callback",
    ),
]
