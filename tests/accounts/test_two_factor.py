"""Two factors with SUPPORTDESK_REQUIRE_2FA on: a password alone reaches nothing but the setup,
TOTP is set up from the otpauth:// URI on the page, recovery codes are shown once, wrong codes
are throttled per account, and sensitive changes ask for the factor again."""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta

import pyotp
import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import issue_api_token
from audit.models import AuditEntry
from tests import factories

PASSWORD = "correct-horse-battery"


@pytest.fixture
def require_2fa(settings):
    settings.SUPPORTDESK_REQUIRE_2FA = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _ip() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def _login(client: Client, email: str) -> None:
    response = client.post("/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]


def _set_up_totp(client: Client) -> str:
    """Open the setup page, read the otpauth:// URI shown as text, answer with its code."""
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    text = page.content.decode()
    uri = html.unescape(re.search(r'id="otpauth-uri">([^<]+)<', text).group(1))
    assert uri.startswith("otpauth://totp/")
    assert 'id="totp-qr" src="data:image/svg+xml;base64,' in text
    assert 'name="code"' in text
    secret = pyotp.parse_uri(uri).secret
    response = client.post("/accounts/2fa/totp/activate/", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    return secret


def test_a_password_alone_reaches_only_the_second_factor_setup(db, require_2fa):
    person = factories.AgentFactory(email="new@example.com", password=PASSWORD)
    client = Client()
    _login(client, person.email)

    inbox = client.get("/inbox/")
    assert inbox.status_code == 302 and inbox["Location"].startswith("/accounts/2fa/")
    assert client.get("/chats/")["Location"].startswith("/accounts/2fa/")
    api = client.get("/api/v1/tickets")
    assert api.status_code == 403 and api.json()["code"] == "second_factor_required"
    # A bearer token is not a session: an operator issued it (documented in the README).
    token = issue_api_token(person)
    assert Client().get("/api/v1/tickets", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert client.get("/accounts/2fa/").status_code == 200


def test_totp_setup_shows_the_uri_then_recovery_codes_once_and_opens_the_desk(db, require_2fa):
    person = factories.AgentFactory(email="newbie@example.com", password=PASSWORD)
    client = Client()
    _login(client, person.email)

    _set_up_totp(client)

    assert Authenticator.objects.filter(user=person, type="totp").exists()
    first = client.get("/accounts/2fa/recovery-codes/").content.decode()
    codes = re.findall(r"\b[0-9a-f]{8}\b", first)
    assert len(set(codes)) >= 10
    again = client.get("/accounts/2fa/recovery-codes/").content.decode()
    assert not set(codes) & set(re.findall(r"\b[0-9a-f]{8}\b", again))  # shown once
    assert client.get("/inbox/").status_code == 200
    assert client.get("/api/v1/tickets").status_code == 200


def test_the_next_login_asks_for_the_code_and_wrong_codes_are_throttled_per_account(
    db, require_2fa, settings
):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key", "login": "30/m/ip"}
    person = factories.AgentFactory(email=f"{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD)
    setup = Client()
    _login(setup, person.email)
    secret = _set_up_totp(setup)

    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=True):
        client = Client(REMOTE_ADDR=_ip())
        response = client.post("/login/", {"username": person.email, "password": PASSWORD})
        assert response["Location"].startswith("/accounts/2fa/authenticate/")
        assert client.get("/inbox/").status_code == 302  # not signed in yet
        good = pyotp.TOTP(secret).now()
        wrong = f"{(int(good) + 1) % 1_000_000:06d}"
        for _ in range(5):
            page = client.post("/accounts/2fa/authenticate/", {"code": wrong})
            assert page.status_code == 200 and b"Incorrect code" in page.content
        # From another address too: the account's budget is spent, even the right code waits.
        other = Client(REMOTE_ADDR=_ip())
        other.post("/login/", {"username": person.email, "password": PASSWORD})
        refused = other.post("/accounts/2fa/authenticate/", {"code": good})
        assert refused.status_code == 200 and b"Too many" in refused.content
        assert "_auth_user_id" not in other.session


def test_wrong_codes_from_one_address_are_throttled_across_accounts(db, require_2fa, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key", "login": "30/m/ip"}
    people = []
    for _ in range(3):
        person = factories.AgentFactory(
            email=f"{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD
        )
        setup = Client(REMOTE_ADDR=_ip())
        _login(setup, person.email)
        people.append((person, _set_up_totp(setup)))
    address = _ip()

    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=True):
        clients = []
        for person, _secret in people:
            client = Client(REMOTE_ADDR=address)
            client.post("/login/", {"username": person.email, "password": PASSWORD})
            clients.append(client)
        # 4 + 4 + 2 wrong codes from one address: under each account's 5, at the address's 10.
        for client, (_, secret), tries in zip(clients, people, (4, 4, 2), strict=True):
            good = pyotp.TOTP(secret).now()
            for _ in range(tries):
                page = client.post(
                    "/accounts/2fa/authenticate/", {"code": f"{(int(good) + 1) % 1_000_000:06d}"}
                )
                assert b"Incorrect code" in page.content
        last, (person, secret) = clients[2], people[2]
        refused = last.post("/accounts/2fa/authenticate/", {"code": pyotp.TOTP(secret).now()})
        assert refused.status_code == 200 and b"Too many" in refused.content
        # The same person from another address is not locked out by it.
        elsewhere = Client(REMOTE_ADDR=_ip())
        elsewhere.post("/login/", {"username": person.email, "password": PASSWORD})
        done = elsewhere.post("/accounts/2fa/authenticate/", {"code": pyotp.TOTP(secret).now()})
        assert done.status_code == 302 and elsewhere.get("/inbox/").status_code == 200


def test_the_right_code_signs_in_and_a_recovery_code_works_once(db, require_2fa):
    person = factories.AgentFactory(email="coder@example.com", password=PASSWORD)
    setup = Client()
    _login(setup, person.email)
    secret = _set_up_totp(setup)
    codes = re.findall(
        r"\b[0-9a-f]{8}\b", setup.get("/accounts/2fa/recovery-codes/").content.decode()
    )

    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=True):
        client = Client()
        client.post("/login/", {"username": person.email, "password": PASSWORD})
        done = client.post("/accounts/2fa/authenticate/", {"code": pyotp.TOTP(secret).now()})
        assert done.status_code == 302
        assert client.get("/inbox/").status_code == 200

    recovery = Client()
    recovery.post("/login/", {"username": person.email, "password": PASSWORD})
    assert recovery.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 302
    reuse = Client()
    reuse.post("/login/", {"username": person.email, "password": PASSWORD})
    assert reuse.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 200


def test_sensitive_changes_ask_for_the_second_factor_again(db, require_2fa):
    person = factories.AgentFactory(email="careful@example.com", password=PASSWORD)
    client = Client()
    _login(client, person.email)
    secret = _set_up_totp(client)

    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=True):
        # Creating a token: sent to confirm the factor (not the password), then it is made.
        response = client.post("/tokens/new/", {"name": "sync", "scopes": ["read"]})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/2fa/reauthenticate/")
        assert not ApiToken.objects.filter(user=person).exists()
        password_page = client.get("/accounts/reauthenticate/?next=/tokens/")
        assert password_page["Location"].startswith("/accounts/2fa/reauthenticate/")
        api = client.post(
            "/api/v1/tokens", {"name": "x", "scopes": ["read"]}, content_type="application/json"
        )
        assert api.status_code == 403 and api.json()["code"] == "reauthentication_required"
        assert client.get("/password/")["Location"].startswith("/accounts/2fa/reauthenticate/")

        confirmed = client.post(
            "/accounts/2fa/reauthenticate/?next=/tokens/new/",
            {"code": pyotp.TOTP(secret).now()},
        )
        assert confirmed.status_code == 302
        # The suspended POST was replayed: the token exists now.
        token = ApiToken.objects.get(user=person)
        assert token.name == "sync" and token.scopes == ["read"]
        assert client.get("/password/").status_code == 200
        made = client.post(
            "/api/v1/tokens", {"name": "api", "scopes": ["read"]}, content_type="application/json"
        )
        assert made.status_code == 201 and made.json()["token"].startswith("sd_")


def test_an_admin_resets_a_persons_factors_and_they_set_up_again(
    db, require_2fa, cast, django_capture_on_commit_callbacks
):
    person = factories.AgentFactory(email="lost-phone@example.com", password=PASSWORD)
    client = Client()
    _login(client, person.email)
    with django_capture_on_commit_callbacks(execute=True):  # allauth signals after commit
        _set_up_totp(client)
    assert client.get("/inbox/").status_code == 200

    agent = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.alice)}")
    assert agent.post(f"/api/v1/agents/{person.pk}/reset-factors").status_code == 403
    admin = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.dave)}")
    response = admin.post(f"/api/v1/agents/{person.pk}/reset-factors")

    assert response.status_code == 200 and response.json()["removed"] >= 2  # TOTP + codes
    assert not Authenticator.objects.filter(user=person).exists()
    # Both the factor's set-up and the reset are in the audit log, with who did it.
    added = AuditEntry.objects.filter(action="mfa.added", object_id=str(person.pk))
    assert added.exists() and {e.actor_id for e in added} == {person.pk}
    reset = AuditEntry.objects.get(action="mfa.reset", object_id=str(person.pk))
    assert reset.actor_id == cast.dave.pk and reset.detail["removed"] == ["recovery_codes", "totp"]
    assert client.get("/inbox/")["Location"].startswith("/accounts/2fa/")


def test_with_2fa_off_a_password_still_opens_the_desk(db, settings):
    settings.SUPPORTDESK_REQUIRE_2FA = False
    person = factories.AgentFactory(email="relaxed@example.com", password=PASSWORD)
    client = Client()
    _login(client, person.email)
    assert client.get("/inbox/").status_code == 200
