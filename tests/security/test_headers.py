"""Security headers and settings: CSP on every page (the widget script excepted), https-only in
production (redirect, HSTS, secure cookies), and `manage.py check --deploy` clean there."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

from tests.helpers.browser import login
from tests.helpers.servers import start_daphne

ROOT = Path(__file__).resolve().parents[2]
AGENT_PAGES = ["/inbox/", "/chats/", "/wall/", "/reports/", "/snippets/", "/team/", "/outbox/"]


def _directives(header: str) -> dict[str, str]:
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


def test_agent_pages_carry_a_csp_that_runs_only_our_own_scripts(world):
    manager, anonymous = world.client("manager"), world.client("anonymous")
    pages = [*AGENT_PAGES, f"/tickets/{world.ticket.pk}/", "/login/", "/support/new"]
    for path in pages:
        client = anonymous if path in ("/login/", "/support/new") else manager
        response = client.get(path)
        assert response.status_code == 200, path
        csp = _directives(response["Content-Security-Policy"])
        assert csp["script-src"] == "'self'", path
        assert csp["object-src"] == "'none'" and csp["frame-ancestors"] == "'none'", path
        assert csp["form-action"] == "'self'" and csp["base-uri"] == "'self'", path
        html = response.content.decode()
        # Nothing a policy without 'unsafe-inline' would block: no inline script, no handlers.
        inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
        assert not inline, (path, inline)
        assert not re.search(r"\son[a-z]+\s*=\s*[\"']", html), path
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"


def test_the_widget_script_has_no_page_policy_and_stays_embeddable(db):
    response = Client().get("/widget.js", HTTP_ORIGIN="http://shop.example")
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    assert "Content-Security-Policy" not in response
    # The shop's page runs it; the widget's API answers CORS for the shops (see origins.py).
    preflight = Client().options(
        "/api/v1/widget/sessions",
        HTTP_ORIGIN="http://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert preflight.status_code == 204


def test_attachments_keep_their_own_sandbox_policy(world):
    response = world.client("agent").get(f"/attachments/{world.attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Content-Disposition"].startswith("attachment;")


def _production_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "SESSION_COOKIE", "DEBUG", "DJANGO_ALLOW_ASYNC"))
    }
    env.update(
        {
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://u@127.0.0.1/db"),
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "support.example.com",
            "SUPPORTDESK_INBOUND_SECRET": secrets.token_hex(16),
            "SUPPORTDESK_WIDGET_SECRET": secrets.token_hex(16),
            "DEBUG": "false",
            **extra,
        }
    )
    return env


def test_check_deploy_is_clean_for_the_production_profile():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_a_weak_secret_key():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(SECRET_KEY="short"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


@pytest.fixture
def production_server(transactional_db, tmp_path, live_server_env):
    env = {**live_server_env, "SECURE_SSL_REDIRECT": "true", "DEBUG": "false"}
    server = start_daphne(tmp_path, env)
    yield server
    server.stop()


def _get(url: str, headers: dict[str, str] | None = None):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        return opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10)
    except urllib.error.HTTPError as error:
        return error


def test_production_is_https_only_with_hsts_and_secure_cookies(production_server):
    plain = _get(f"{production_server.url}/login/")
    assert plain.status == 301
    assert plain.headers["Location"].startswith("https://")
    # The container health check probes plain http from inside: exempt.
    assert _get(f"{production_server.url}/healthz").status == 200

    behind_tls = _get(f"{production_server.url}/login/", {"X-Forwarded-Proto": "https"})
    assert behind_tls.status == 200
    hsts = behind_tls.headers["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts
    cookies = behind_tls.headers.get_all("Set-Cookie")
    csrf_cookie = next(c for c in cookies if c.startswith("csrftoken="))
    assert "Secure" in csrf_cookie and "SameSite=Lax" in csrf_cookie
    # The widget API stays reachable for the shops' pages (https in production).
    widget = _get(f"{production_server.url}/widget.js", {"X-Forwarded-Proto": "https"})
    assert widget.status == 200 and "Content-Security-Policy" not in widget.headers


@pytest.mark.browser
def test_agent_pages_and_the_widget_work_under_the_policy(live_server, page, cast):
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    login(page, live_server, cast.carol.email, cast.password)
    for path in ["/inbox/", "/chats/", "/wall/", "/reports/"]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/demo/shop/")
    page.locator("#supportdesk-chat").wait_for(state="attached")
    assert not violations, violations
