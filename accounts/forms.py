"""The login form: allauth's (so a second factor is asked when the person has one), posted with
the field names Supportdesk has always used (`username`, `password`)."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm as AllauthLoginForm
from django import forms
from django.conf import settings
from django.urls import reverse

from accounts import throttle

CHALLENGE = (
    "This account had too many failed attempts, so a password alone is not enough right now. "
    "Sign in with a code emailed to you instead."
)
SSO_ONLY = "This desk signs in with single sign-on: use the button below."


class LoginForm(AllauthLoginForm):
    challenged = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        data = kwargs.get("data")
        if data is None and args:
            data = args[0]
        if data is not None and "login" not in data and "username" in data:
            data = data.copy()
            data["login"] = data.get("username", "")
            if "data" in kwargs:
                kwargs["data"] = data
            else:
                args = (data, *args[1:])
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        account = str(self.data.get("login", "")).strip().lower()[:254]
        if self.errors:  # already cleaned fields: their errors, no second full_clean
            return super().clean()
        if (
            settings.SUPPORTDESK_OIDC_REQUIRED
            and account not in settings.SUPPORTDESK_OIDC_BREAK_GLASS
        ):
            raise forms.ValidationError(SSO_ONLY, code="sso_required")
        attacked = throttle.under_attack(account)
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.record_failure(account)
            if attacked:
                self.challenged = True
                raise forms.ValidationError(CHALLENGE, code="challenge") from None
            raise
        user = getattr(self, "user", None)
        if attacked and user is not None:
            from accounts.services import has_second_factor

            if not has_second_factor(user):
                # The right password from somewhere, on an account under attack: prove it by mail.
                self.challenged = True
                raise forms.ValidationError(CHALLENGE, code="challenge")
        return cleaned

    @property
    def login_by_code_url(self) -> str:
        return reverse("account_request_login_code")
