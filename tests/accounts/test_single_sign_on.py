"""Single sign-on against a real OpenID Connect provider (django-oauth-toolkit in its own Django
project and process, tests/oidc_provider/), driven through the real redirects: discovery, the
authorization code with PKCE, the ID token's signature, just-in-time creation with the role from
a claim, SSO-only with a break-glass admin, and logout at the provider."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client

from accounts.models import User
from tests.helpers.servers import ROOT, free_port, start_daphne, wait_for_port

CLIENT_ID = "supportdesk-test"
CLIENT_SECRET = "provider-client-secret-for-tests"
CALLBACK = "http://testserver/accounts/oidc/sso/login/callback/"
PEOPLE = [
    ["pat", "pat.manager@corp.example", "pat-password-1", "Pat", "Manager"],
    ["sam", "sam.agent@corp.example", "sam-password-1", "Sam", "Agent"],
    ["alice", "alice@example.com", "alice-password-1", "Alice", "Agent"],
]


class Provider:
    def __init__(
        self, tmp_path: Path, name: str, *, port: int | None = None, desk: str = "http://testserver"
    ) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_file = tmp_path / f"{name}.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.url}/o"
        env = {
            **os.environ,
            "OIDC_PROVIDER_DB": str(tmp_path / f"{name}.sqlite3"),
            "OIDC_PROVIDER_KEY": str(key_file),
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_REDIRECT_URIS": CALLBACK.replace("http://testserver", desk),
            "OIDC_POST_LOGOUT_URIS": f"{desk}/login/",
            "OIDC_PROVIDER_PEOPLE": json.dumps(PEOPLE),
            "OIDC_PROVIDER_ROLES": json.dumps({"pat": "manager"}),
        }
        for name_ in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"):
            env.pop(name_, None)
        self.log = (tmp_path / f"{name}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.oidc_provider.run", str(self.port)],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout=60)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    instance = Provider(tmp_path_factory.mktemp("oidc"), "provider")
    yield instance
    instance.stop()


@pytest.fixture
def sso(settings, provider):
    settings.SUPPORTDESK_OIDC_ISSUER = provider.issuer
    settings.SUPPORTDESK_OIDC_CLIENT_ID = CLIENT_ID
    settings.SUPPORTDESK_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Corp SSO",
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {
                        "server_url": provider.issuer,
                        "oauth_pkce_enabled": True,
                        "token_auth_method": "client_secret_post",
                    },
                }
            ],
        }
    }
    return settings


def _sign_in_at_provider(client: Client, username: str, password: str) -> tuple:
    """Press "Log in with Corp SSO" and sign in at the provider; returns the desk's response to
    the provider's redirect back, and the browser-like session held at the provider."""
    start = client.post("/accounts/oidc/sso/login/")
    assert start.status_code == 302
    authorize = start["Location"]
    query = parse_qs(urlparse(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert "openid" in query["scope"][0]
    browser = requests.Session()
    login_page = browser.get(authorize, timeout=10)  # the provider asks who we are
    assert "/login/" in login_page.url
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
    back = browser.post(
        login_page.url,
        data={
            "csrfmiddlewaretoken": csrf,
            "username": username,
            "password": password,
            "next": parse_qs(urlparse(login_page.url).query)["next"][0],
        },
        headers={"Referer": login_page.url},
        allow_redirects=False,
        timeout=10,
    )
    redirect = browser.get(
        back.headers["Location"]
        if back.headers["Location"].startswith("http")
        else login_page.url.split("/login/")[0] + back.headers["Location"],
        allow_redirects=False,
        timeout=10,
    )
    callback = redirect.headers["Location"]
    assert callback.startswith(CALLBACK) and "code=" in callback
    return client.get(callback.replace("http://testserver", "")), browser


def test_first_sso_login_creates_the_employee_with_the_role_from_the_claim(db, sso):
    client = Client()
    assert b"Log in with Corp SSO" in client.get("/login/").content

    response, _ = _sign_in_at_provider(client, "pat", "pat-password-1")

    assert response.status_code == 302 and response["Location"] == "/inbox/"
    pat = User.objects.get(email="pat.manager@corp.example")
    assert pat.role == "manager" and pat.name == "Pat Manager"
    assert not pat.has_usable_password()
    assert list(pat.groups.values_list("name", flat=True)) == ["manager"]
    assert client.get("/inbox/").status_code == 200
    assert client.get("/reports/").status_code == 200  # a manager's page


def test_without_the_claim_the_default_role_applies_and_an_existing_employee_is_matched(
    db, sso, cast
):
    client = Client()
    response, _ = _sign_in_at_provider(client, "sam", "sam-password-1")
    assert response.status_code == 302
    assert User.objects.get(email="sam.agent@corp.example").role == "agent"

    # alice@example.com already works here: the same account, not a second one.
    other = Client()
    _sign_in_at_provider(other, "alice", "alice-password-1")
    assert User.objects.filter(email="alice@example.com").count() == 1
    assert other.session["_auth_user_id"] == str(cast.alice.pk)


def test_an_id_token_not_signed_by_the_issuers_keys_is_refused(db, sso, provider, tmp_path):
    impostor = Provider(tmp_path, "impostor")  # another key; its JWKS must not vouch for tokens
    try:
        app = sso.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"][0]
        app["settings"]["openid_configuration_overrides"] = {
            "jwks_uri": f"{impostor.issuer}/.well-known/jwks.json"
        }
        client = Client()
        response, _ = _sign_in_at_provider(client, "sam", "sam-password-1")
        assert response.status_code == 401  # allauth's "login failure" page
        assert "_auth_user_id" not in client.session
        assert not User.objects.filter(email="sam.agent@corp.example").exists()
    finally:
        impostor.stop()


def test_sso_only_refuses_passwords_except_the_break_glass_admin(db, sso, cast):
    sso.SUPPORTDESK_OIDC_REQUIRED = True
    sso.SUPPORTDESK_OIDC_BREAK_GLASS = [cast.dave.email]

    refused = Client().post("/login/", {"username": cast.alice.email, "password": cast.password})
    assert refused.status_code == 200 and b"single sign-on" in refused.content

    admin = Client()
    assert (
        admin.post("/login/", {"username": cast.dave.email, "password": cast.password}).status_code
        == 302
    )
    assert admin.get("/inbox/").status_code == 200


def test_logout_ends_the_session_here_and_at_the_provider(db, sso):
    client = Client()
    _, browser = _sign_in_at_provider(client, "pat", "pat-password-1")

    response = client.post("/logout/")

    assert response.status_code == 302
    end_session = response["Location"]
    assert end_session.startswith(sso.SUPPORTDESK_OIDC_ISSUER) and "id_token_hint=" in end_session
    assert client.get("/inbox/").status_code == 302
    done = browser.get(end_session, allow_redirects=False, timeout=10)
    assert done.status_code == 302 and done.headers["Location"] == "http://testserver/login/"
    # The provider forgot the person: the next sign-in asks for the password again.
    again = Client().post("/accounts/oidc/sso/login/")
    assert "/login/" in browser.get(again["Location"], timeout=10).url


def test_sso_users_also_need_a_second_factor_when_required(db, sso):
    sso.SUPPORTDESK_REQUIRE_2FA = True
    client = Client()
    _sign_in_at_provider(client, "sam", "sam-password-1")
    assert client.get("/inbox/")["Location"].startswith("/accounts/2fa/")


def _csrf(page: requests.Response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def test_sso_on_a_live_daphne_from_the_login_page_to_logout(
    transactional_db, tmp_path, live_server_env
):
    """The same flow with the desk on daphne and one browser-like session for both sites: the
    desk at localhost, the provider at 127.0.0.1 (cookies are per host, not per port)."""
    provider_port = free_port()
    desk = start_daphne(
        tmp_path,
        {
            **live_server_env,
            "SUPPORTDESK_OIDC_ISSUER": f"http://127.0.0.1:{provider_port}/o",
            "SUPPORTDESK_OIDC_CLIENT_ID": CLIENT_ID,
            "SUPPORTDESK_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "SUPPORTDESK_OIDC_NAME": "Corp SSO",
            "SESSION_COOKIE_SECURE": "false",  # plain http on loopback
        },
        name="daphne-sso",
    )
    site = desk.url.replace("127.0.0.1", "localhost")
    provider = Provider(tmp_path, "provider-live", port=provider_port, desk=site)
    try:
        browser = requests.Session()
        login = browser.get(f"{site}/login/", timeout=10)
        assert "Log in with Corp SSO" in login.text
        start = browser.post(
            f"{site}/accounts/oidc/sso/login/",
            data={"csrfmiddlewaretoken": _csrf(login)},
            allow_redirects=False,
            timeout=10,
        )
        assert start.status_code == 302
        query = parse_qs(urlparse(start.headers["Location"]).query)
        assert query["code_challenge_method"] == ["S256"]
        at_provider = browser.get(start.headers["Location"], timeout=10)
        assert at_provider.url.startswith(provider.url) and "/login/" in at_provider.url
        # Signing in at the provider brings the browser back through the desk's callback.
        landed = browser.post(
            at_provider.url,
            data={
                "csrfmiddlewaretoken": _csrf(at_provider),
                "username": "pat",
                "password": "pat-password-1",
                "next": parse_qs(urlparse(at_provider.url).query)["next"][0],
            },
            headers={"Referer": at_provider.url},
            timeout=20,
        )
        assert landed.status_code == 200 and landed.url == f"{site}/inbox/", landed.url
        pat = User.objects.get(email="pat.manager@corp.example")
        assert pat.role == "manager"

        desk_csrf = next(
            c.value for c in browser.cookies if c.name == "csrftoken" and "localhost" in c.domain
        )
        out = browser.post(
            f"{site}/logout/",
            data={"csrfmiddlewaretoken": desk_csrf},
            headers={"Referer": f"{site}/inbox/"},
            timeout=20,
        )
        # Through the provider's end-session endpoint and back to the desk's login page.
        assert any(r.url.startswith(provider.issuer) for r in out.history), out.history
        assert out.url == f"{site}/login/"
        assert browser.get(f"{site}/inbox/", allow_redirects=False, timeout=10).status_code == 302
    finally:
        provider.stop()
        desk.stop()
