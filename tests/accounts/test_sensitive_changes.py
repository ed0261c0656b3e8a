"""With SUPPORTDESK_REQUIRE_2FA on, adding a webhook, a mailbox or a factor from a session asks
for the second factor again (pages and API calls made with the session); a bearer token with the admin
scope may (making it needed the factor), one without it may not (accounts/reauth.py)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import Scope
from accounts.services import issue_api_token
from mailboxes.models import Mailbox
from tests import factories
from webhooks.models import Webhook

PASSWORD = "correct-horse-battery"
SECRET = "s3cret-s3cret-s3cret"


@pytest.fixture
def require_2fa(settings):
    settings.SUPPORTDESK_REQUIRE_2FA = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE = True


def _admin_with_totp() -> tuple[Client, str]:
    person = factories.AgentFactory(email="root@example.com", role="admin", password=PASSWORD)
    client = Client()
    assert (
        client.post("/login/", {"username": person.email, "password": PASSWORD}).status_code == 302
    )
    page = client.get("/accounts/2fa/totp/activate/").content.decode()
    uri = html.unescape(re.search(r'id="otpauth-uri">([^<]+)<', page).group(1))
    secret = pyotp.parse_uri(uri).secret
    done = client.post("/accounts/2fa/totp/activate/", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302
    return client, secret


def _mailbox_form(address: str) -> dict[str, object]:
    return {
        "address": address,
        "name": "Care",
        "imap_host": "imap.shop.test",
        "imap_port": 993,
        "imap_security": "ssl",
        "imap_user": address,
        "imap_password": "imap-password",
        "folder": "INBOX",
        "smtp_security": "starttls",
    }


def _mailbox_json(address: str) -> dict[str, object]:
    return {
        "address": address,
        "imap": {"host": "imap.shop.test", "password": "imap-password", "security": "ssl"},
    }


def test_webhooks_and_mailboxes_ask_a_session_for_the_second_factor_again(db, require_2fa):
    client, secret = _admin_with_totp()
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["ticket.created"], "secret": SECRET}

    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=True):
        # The factor was given 10 minutes ago: every way of adding one is held.
        api_hook = client.post("/api/v1/webhooks", hook, content_type="application/json")
        assert api_hook.status_code == 403
        assert api_hook.json()["code"] == "reauthentication_required"
        api_box = client.post(
            "/api/v1/mailboxes", _mailbox_json("api@shop.test"), content_type="application/json"
        )
        assert api_box.status_code == 403
        assert api_box.json()["code"] == "reauthentication_required"
        page = client.post("/mailboxes/new", _mailbox_form("page@shop.test"))
        assert page.status_code == 302
        assert page["Location"].startswith("/accounts/2fa/reauthenticate/")
        admin_add = client.get("/admin/webhooks/webhook/add/")
        assert admin_add.status_code == 302
        assert admin_add["Location"].startswith("/accounts/2fa/reauthenticate/")
        assert not Webhook.objects.exists() and not Mailbox.objects.exists()
        # Adding a factor (a passkey) is held the same way, and the password page forwards to
        # the factor: for a person with one, the password does not count.
        add_key = client.get("/accounts/2fa/webauthn/add/")
        assert add_key.status_code == 302
        assert add_key["Location"].startswith(("/accounts/reauthenticate/", "/accounts/2fa/"))
        forwarded = client.get(add_key["Location"], follow=True)
        assert forwarded.redirect_chain[-1][0].startswith("/accounts/2fa/reauthenticate/")

        # The code again: the held page POST is replayed and the mailbox exists.
        confirmed = client.post(
            "/accounts/2fa/reauthenticate/?next=/mailboxes/new",
            {"code": pyotp.TOTP(secret).now()},
        )
        assert confirmed.status_code == 302
        assert Mailbox.objects.filter(address="page@shop.test").exists()
        # Within SUPPORTDESK_REAUTH_SECONDS the session's API calls and the admin page pass.
        made = client.post("/api/v1/webhooks", hook, content_type="application/json")
        assert made.status_code == 201, made.content
        boxed = client.post(
            "/api/v1/mailboxes", _mailbox_json("api@shop.test"), content_type="application/json"
        )
        assert boxed.status_code == 201, boxed.content
        assert client.get("/admin/webhooks/webhook/add/").status_code == 200
        assert client.get("/accounts/2fa/webauthn/add/").status_code == 200


def test_a_token_with_the_admin_scope_adds_them_and_one_without_it_cannot(db, require_2fa):
    admin = factories.AgentFactory(email="ops@example.com", role="admin", password=PASSWORD)
    hook = {"url": "http://127.0.0.1:9/hook", "events": [], "secret": SECRET}
    scoped = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(admin)}")
    unscoped = Client(
        HTTP_AUTHORIZATION="Bearer "
        + issue_api_token(admin, name="no admin", scopes=[Scope.READ.value, Scope.WRITE.value])
    )

    assert scoped.post("/api/v1/webhooks", hook, content_type="application/json").status_code == 201
    box = scoped.post(
        "/api/v1/mailboxes", _mailbox_json("ops@shop.test"), content_type="application/json"
    )
    assert box.status_code == 201, box.content
    assert (
        unscoped.post("/api/v1/webhooks", hook, content_type="application/json").status_code == 403
    )
    no_box = unscoped.post(
        "/api/v1/mailboxes", _mailbox_json("no@shop.test"), content_type="application/json"
    )
    assert no_box.status_code == 403
    assert Webhook.objects.count() == 1 and Mailbox.objects.count() == 1
    # Tokens still cannot make tokens, whatever their scope.
    again = scoped.post("/api/v1/tokens", {"name": "x"}, content_type="application/json")
    assert again.status_code == 403 and again.json()["code"] == "reauthentication_required"
