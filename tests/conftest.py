"""Shared fixtures: the cast, real servers (daphne, Celery, SMTP sink, Redis control) and Chromium.

Fixtures only: the helpers test modules call (start_daphne, login, open_console, SmtpSink, ...)
live in tests/helpers/, and no test module imports this file (tests/architecture checks it).

Postgres and Redis are started by `scripts/services.py` (via `make test`), which exports
DATABASE_URL and REDIS_URL; pytest-django creates the test database on that Postgres.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop on the test thread; the ORM calls made by the test
# itself are still plain synchronous calls, so Django's async-safety guard is relaxed for tests.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests import factories
from tests.helpers.browser import CHROMIUM_FLAGS
from tests.helpers.servers import (
    ExternalRedis,
    ImapServer,
    RedisServer,
    ServerProcess,
    free_port,
    start_celery_worker,
    start_daphne,
    stop_celery_worker,
)
from tests.helpers.smtp import SmtpSink

# --- the cast --------------------------------------------------------------------------------


@dataclass
class Cast:
    alice: object  # an agent
    bob: object  # a teammate who may act too
    carol: object  # a manager
    dave: object  # an admin
    password: str = "correct-horse-battery"


@pytest.fixture
def cast(db: None) -> Cast:
    password = "correct-horse-battery"
    return Cast(
        alice=factories.AgentFactory(
            email="alice@example.com", name="Alice Agent", password=password
        ),
        bob=factories.AgentFactory(email="bob@example.com", name="Bob Builder", password=password),
        carol=factories.AgentFactory(
            email="carol@example.com", name="Carol Manager", role="manager", password=password
        ),
        dave=factories.AgentFactory(
            email="dave@example.com", name="Dave Admin", role="admin", password=password
        ),
        password=password,
    )


@pytest.fixture
def api_client(cast: Cast):
    """A Django test client that authenticates as alice with a real bearer token."""
    from django.test import Client

    from accounts.services import issue_api_token

    token = issue_api_token(cast.alice)  # type: ignore[arg-type]
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def shop_token(db: None) -> str:
    """A raw integration token for the shop's sync (POST /api/v1/orders)."""
    from customers.services import issue_shop_token

    return issue_shop_token("test-shop")[1]


@pytest.fixture
def shop_client(shop_token: str):
    """A Django test client that authenticates as the shop with its integration token."""
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Bearer {shop_token}")


# --- SMTP sink -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink(host="127.0.0.1", port=free_port())

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            parsed = message_from_bytes(
                envelope.original_content or envelope.content, policy=policy.default
            )
            sink.receive(parsed, envelope.mail_from, envelope.rcpt_tos)  # type: ignore[arg-type]
            return "250 OK"

    controller = Controller(Handler(), hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def smtp_sink(smtp_server: SmtpSink, settings) -> SmtpSink:
    """The sink, emptied, with this process's Django mail pointed at it."""
    smtp_server.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    return smtp_server


# --- real processes -------------------------------------------------------------------------------


@pytest.fixture
def live_server_env(smtp_server: SmtpSink) -> dict[str, str]:
    """Environment of the live daphne: mail to the SMTP sink, Celery tasks run in-process."""
    smtp_server.clear()
    return {
        "EMAIL_HOST": smtp_server.host,
        "EMAIL_PORT": str(smtp_server.port),
        "SUPPORTDESK_CELERY_EAGER": "true",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SUPPORTDESK_RATELIMIT_ENABLED": "false",
        "SUPPORTDESK_WIDGET_ORIGINS": "http://shop.example",
    }


@pytest.fixture(autouse=True)
def _test_defaults(settings) -> None:
    """Rate limits count across tests in the shared Redis cache: off unless a test turns them on
    (tests/security/test_rate_limits.py). The test client speaks plain http, so the production
    profile's redirect to https is off too (tests/security/test_headers.py checks it)."""
    settings.SUPPORTDESK_RATELIMIT_ENABLED = False
    settings.SECURE_SSL_REDIRECT = False
    # A password alone logs in, except in tests/accounts/ which turn SUPPORTDESK_REQUIRE_2FA on.
    settings.SUPPORTDESK_REQUIRE_2FA = False
    settings.ACCOUNT_RATE_LIMITS = False  # allauth's (second-factor codes): tests/accounts/
    settings.MFA_RATE_LIMITS = False
    # Every test starts in English: a request in another language (the test client runs in this
    # thread) leaves that language active, as LocaleMiddleware never deactivates it.
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    # The inbox's shared sidebar counts live in the shared Redis cache: none from another test.
    from tickets.inbox_counts import forget_shared_counts

    forget_shared_counts()


@pytest.fixture(autouse=True)
def _live_server_helper() -> Iterator[None]:
    """Replaces pytest-django's helper of the same name: our live_server is a separate process."""
    yield


@pytest.fixture
def live_server(
    transactional_db: None, tmp_path: Path, live_server_env: dict[str, str]
) -> Iterator[ServerProcess]:
    """daphne serving the ASGI app on a free port, on the test database."""
    server = start_daphne(tmp_path, live_server_env)
    yield server
    server.stop()


@pytest.fixture
def celery_worker(
    transactional_db: None, tmp_path: Path, smtp_server: SmtpSink
) -> Iterator[ServerProcess]:
    """A real Celery worker process on the test Redis broker and the test database."""
    worker = start_celery_worker(tmp_path, smtp_server)
    yield worker
    stop_celery_worker(worker)


@pytest.fixture
def redis_server() -> RedisServer:
    """Control of the test Redis (same port), for restart tests."""
    port = int(os.environ.get("SUPPORTDESK_TEST_REDIS_PORT", "0"))
    if not port:
        pytest.fail("Redis tests need the throwaway Redis: run them through `make test`")
    return ExternalRedis(Path(os.environ["SUPPORTDESK_TEST_SERVICES_DIR"]), port)


# --- browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Module scope, because Playwright's sync API leaves its event
    loop on the test thread while it runs, and later non-browser tests must not inherit it."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_FLAGS, headless=True
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


# --- IMAP (a real Dovecot, started by scripts/services.py) ----------------------------------------


@pytest.fixture(scope="session")
def imap_server() -> ImapServer:
    port = os.environ.get("SUPPORTDESK_TEST_IMAP_PORT")
    if not port:
        pytest.fail(
            "No test IMAP server: run the tests through `make test` (scripts/services.py starts "
            "Dovecot; `apt-get install dovecot-imapd` / `make system-deps` if it is missing)"
        )
    return ImapServer(
        host="127.0.0.1",
        port=int(port),
        user=os.environ["SUPPORTDESK_TEST_IMAP_USER"],
        password=os.environ["SUPPORTDESK_TEST_IMAP_PASSWORD"],
    )


# --- realtime -------------------------------------------------------------------------------------


@pytest.fixture
def published(django_capture_on_commit_callbacks):
    """What code publishes, caught on the real channel layer (Redis pub/sub under `make test`):
    `published(["chat-1"], action)` runs `action` and its transaction's after-commit callbacks,
    then returns the events that reached those groups, in order. "Nothing more" is proven by a
    marker sent after them, not by waiting."""
    import asyncio

    from channels.layers import get_channel_layer

    def tap(groups: list[str], action) -> list[dict]:
        listening, acted = threading.Event(), threading.Event()
        outcome: dict = {}

        async def listen() -> list[dict]:
            layer = get_channel_layer()
            channel = await layer.new_channel()
            for group in groups:
                await layer.group_add(group, channel)
            listening.set()
            await asyncio.to_thread(acted.wait)
            for group in groups:
                await layer.group_send(group, {"type": "test.marker", "group": group})
            caught, markers = [], set()
            while markers != set(groups):
                event = await asyncio.wait_for(layer.receive(channel), 10)
                if event["type"] == "test.marker":
                    markers.add(event["group"])
                else:
                    caught.append(event)
            return caught

        def target() -> None:  # its own thread and loop, listening while the test thread acts
            try:
                outcome["events"] = asyncio.run(listen())
            except BaseException as error:
                outcome["error"] = error
            finally:
                listening.set()

        thread = threading.Thread(target=target)
        thread.start()
        listening.wait(10)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                action()
        finally:
            acted.set()
            thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["events"]

    return tap
