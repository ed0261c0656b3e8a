"""Chromium with SUPPORTDESK_REQUIRE_2FA on: a new employee's password alone reaches nothing but
the second-factor setup; they set up TOTP (the code computed from the otpauth:// URI the page
shows) or a passkey (Chromium's virtual WebAuthn authenticator) and get in."""

from __future__ import annotations

import pyotp
import pytest

from tests import factories
from tests.helpers.servers import start_daphne

PASSWORD = "correct-horse-battery"


@pytest.fixture
def strict_server(transactional_db, tmp_path, live_server_env):
    # localhost, not 127.0.0.1: a passkey's relying party must be a domain name.
    server = start_daphne(tmp_path, {**live_server_env, "SUPPORTDESK_REQUIRE_2FA": "true"})
    server.url = server.url.replace("127.0.0.1", "localhost")
    yield server
    server.stop()


def _password_login(page, server, email: str) -> None:
    page.goto(f"{server.url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def _assert_locked_out_of_the_desk(page, server) -> None:
    for path in ("/inbox/", "/chats/", "/wall/"):
        page.goto(f"{server.url}{path}")
        assert "/accounts/2fa/" in page.url, path
    response = page.request.get(f"{server.url}/api/v1/tickets")
    assert response.status == 403 and response.json()["code"] == "second_factor_required"


@pytest.mark.browser
@pytest.mark.live
def test_a_new_employee_sets_up_totp_in_chromium_and_gets_in(strict_server, page):
    person = factories.AgentFactory(email="new.hire@example.com", password=PASSWORD)
    _password_login(page, strict_server, person.email)
    _assert_locked_out_of_the_desk(page, strict_server)

    page.goto(f"{strict_server.url}/accounts/2fa/totp/activate/")
    assert page.locator("#totp-qr").is_visible()
    uri = page.locator("#otpauth-uri").inner_text().strip()
    assert uri.startswith("otpauth://totp/") and "new.hire%40example.com" in uri.replace("@", "%40")
    page.fill("input[name=code]", pyotp.parse_uri(uri).now())
    page.click("form[action='/accounts/2fa/totp/activate/'] button[type=submit]")
    page.wait_for_url("**/accounts/2fa/recovery-codes/")
    codes = page.locator("#recovery_codes").input_value().split()
    assert len(codes) == 10

    page.goto(f"{strict_server.url}/inbox/")
    assert page.url.endswith("/inbox/")
    page.goto(f"{strict_server.url}/chats/")
    page.get_by_text("Connected").wait_for()  # the agent socket opens now


@pytest.mark.browser
@pytest.mark.live
def test_a_new_employee_adds_a_named_passkey_and_signs_in_with_it(strict_server, page):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    person = factories.AgentFactory(email="key.holder@example.com", password=PASSWORD)
    _password_login(page, strict_server, person.email)
    _assert_locked_out_of_the_desk(page, strict_server)

    page.goto(f"{strict_server.url}/accounts/2fa/webauthn/add/")
    page.fill("input[name=name]", "Work laptop")
    page.check("input[name=passwordless]")
    page.click("#mfa_webauthn_add")
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    added_at = page.url
    page.goto(f"{strict_server.url}/accounts/2fa/webauthn/")
    assert page.get_by_text("Work laptop").is_visible(), (added_at, strict_server.log()[-3000:])
    page.goto(f"{strict_server.url}/inbox/")
    assert page.url.endswith("/inbox/")

    # Next time: the password, then the passkey as the second factor.
    page.context.clear_cookies()
    _password_login(page, strict_server, person.email)
    assert "/accounts/2fa/authenticate/" in page.url
    page.get_by_role("button", name="Use a security key").click()
    page.wait_for_url(lambda url: "/accounts/2fa/authenticate/" not in url)
    page.goto(f"{strict_server.url}/inbox/")
    assert page.url.endswith("/inbox/")

    # And without a password at all: "Log in with a passkey".
    page.context.clear_cookies()
    page.goto(f"{strict_server.url}/login/")
    page.click("#passkey_login")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto(f"{strict_server.url}/inbox/")
    assert page.url.endswith("/inbox/")
