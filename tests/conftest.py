"""Shared fixtures: the cast, real servers (daphne, Celery, SMTP sink, Redis control) and Chromium.

Postgres and Redis are started by `scripts/services.py` (via `make test`), which exports
DATABASE_URL and REDIS_URL; pytest-django creates the test database on that Postgres.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop on the test thread; the ORM calls made by the test
# itself are still plain synchronous calls, so Django's async-safety guard is relaxed for tests.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from services import RedisServer, free_port, wait_for_port  # noqa: E402

from tests import factories  # noqa: E402

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


@dataclass
class SmtpSink:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def receive(self, message: EmailMessage, mail_from: str, rcpt_tos: list[str]) -> None:
        """Record one delivered message (the SMTP handler's side) and wake every waiter."""
        with self._cond:
            self.messages.append(message)
            self.envelopes.append((mail_from, list(rcpt_tos)))
            self._cond.notify_all()

    def clear(self) -> None:
        """Forget what arrived so far (a test starts from an empty sink)."""
        with self._cond:
            self.messages.clear()
            self.envelopes.clear()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        """Wait until at least `count` messages arrived; all of them so far."""
        return self.wait_until(
            lambda messages: len(messages) >= count,
            timeout,
            lambda: f"expected {count} emails at the SMTP sink, got {len(self.messages)}",
        )

    def wait_until(
        self,
        done: Callable[[list[EmailMessage]], bool],
        timeout: float = 15.0,
        failure: Callable[[], str] | None = None,
    ) -> list[EmailMessage]:
        """Wait until `done(messages so far)` holds; those messages. Woken by each arrival."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not done(list(self.messages)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        failure() if failure else f"SMTP sink: timed out with {len(self.messages)}"
                    )
                self._cond.wait(remaining)
            return list(self.messages)


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


def _database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.fail("Live-server tests need Postgres: run them through `make test`")
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    # Plain http on loopback: the production profile's redirect to https is for real deployments.
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PYTHONUNBUFFERED": "1",
        "SECURE_SSL_REDIRECT": "false",
        # Tests of other areas log in with a password alone; tests/accounts/ turn 2FA on.
        "SUPPORTDESK_REQUIRE_2FA": "false",
        "SUPPORTDESK_WEBAUTHN_ALLOW_HTTP": "true",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(extra or {})
    return env


@dataclass
class ServerProcess:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    command: list[str]
    env: dict[str, str]
    log_path: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def restart(self) -> None:
        self.stop()
        self.process = _spawn(self.command, self.env, self.log_path)
        wait_for_port(self.port, timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _spawn(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("ab")
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def start_daphne(
    tmp_path: Path, extra_env: dict[str, str] | None = None, name: str = "daphne"
) -> ServerProcess:
    port = free_port()
    # The server `manage.py serve` runs in production: daphne's, with less memory per socket.
    command = [
        sys.executable,
        "-m",
        "supportdesk.server",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "supportdesk.asgi:application",
    ]
    env = server_env(extra_env)
    log_path = tmp_path / f"{name}.log"
    process = _spawn(command, env, log_path)
    try:
        wait_for_port(port, timeout=30)
    except TimeoutError:
        process.kill()
        raise AssertionError(
            f"daphne did not start:\n{log_path.read_text(errors='replace')}"
        ) from None
    return ServerProcess(f"http://127.0.0.1:{port}", port, process, command, env, log_path)


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


def start_celery_worker(
    tmp_path: Path,
    smtp: SmtpSink,
    name: str = "celery",
    extra_env: dict[str, str] | None = None,
) -> ServerProcess:
    """Start a Celery worker (its own process group, so kill -9 reaches its children) and wait
    until it is ready; mail goes to `smtp`."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "supportdesk",
        "worker",
        "--loglevel=INFO",
        "--concurrency=2",
        "--pool=prefork",
        "--without-gossip",
        "--without-mingle",
    ]
    env = server_env(
        {
            "SUPPORTDESK_CELERY_EAGER": "false",
            "EMAIL_HOST": smtp.host,
            "EMAIL_PORT": str(smtp.port),
            **(extra_env or {}),
        }
    )
    log_path = tmp_path / f"{name}.log"
    process = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while "ready." not in log_path.read_text(errors="replace"):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise AssertionError(
                f"celery worker did not start:\n{log_path.read_text(errors='replace')}"
            )
        time.sleep(0.2)
    return ServerProcess("", 0, process, command, env, log_path)


def stop_celery_worker(worker: ServerProcess) -> None:
    process = worker.process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def kill_celery_worker(worker: ServerProcess) -> None:
    """kill -9 of the worker's main process and its children, as a crash or OOM would."""
    if worker.process.poll() is None:
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(10)


@pytest.fixture
def redis_server() -> RedisServer:
    """Control of the test Redis (same port), for restart tests."""
    port = int(os.environ.get("SUPPORTDESK_TEST_REDIS_PORT", "0"))
    if not port:
        pytest.fail("Redis tests need the throwaway Redis: run them through `make test`")
    return ExternalRedis(Path(os.environ["SUPPORTDESK_TEST_SERVICES_DIR"]), port)


class ExternalRedis(RedisServer):
    """The Redis that scripts/services.py started: stopped with SHUTDOWN, restarted by us."""

    def stop(self) -> None:
        import redis

        with contextlib.suppress(redis.ConnectionError):
            redis.Redis(port=self.port).shutdown(nosave=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                wait_for_port(self.port, timeout=0.1)
            except TimeoutError:
                return
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()


# --- browser ------------------------------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


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


AXE_JS = os.environ.get(
    "SUPPORTDESK_AXE_JS", str(ROOT / "var/npm/node_modules/axe-core/axe.min.js")
)


def axe_violations(page, *, impacts: tuple[str, ...] = ("critical", "serious")) -> list[dict]:
    """axe-core's violations on the page as it is now, of the given impacts. The page's context
    needs bypass_csp=True: our CSP refuses injected scripts, as it should."""
    if not Path(AXE_JS).exists():
        pytest.fail(f"axe-core not found at {AXE_JS}: `make test` installs it from npm")
    page.add_script_tag(path=AXE_JS)
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(" "))}))"""
    )
    return [v for v in violations if v["impact"] in impacts]


def login(page, server: ServerProcess, email: str, password: str) -> None:
    page.goto(f"{server.url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def open_console(context, server: ServerProcess, email: str, password: str, *, timeout=15_000):
    """An agent's page logged in and connected in the chat console."""
    agent = context.new_page()
    agent.set_default_timeout(timeout)
    login(agent, server, email, password)
    agent.goto(f"{server.url}/chats/")
    agent.get_by_text("Connected").wait_for()
    return agent


def start_shop_chat(
    context,
    server: ServerProcess,
    *,
    name: str,
    email: str,
    question: str,
    timeout=15_000,
    signed_in: bool = False,
    path: str = "/demo/shop/",
):
    """A visitor on the demo shop who opens the widget and starts a chat; returns the page once
    the first line is committed (no longer pending). `signed_in`: the shop vouches for the email
    with a user_hash (the server needs SUPPORTDESK_DEMO_SHOP_LOGIN=true)."""
    from urllib.parse import urlencode

    shop = context.new_page()
    shop.set_default_timeout(timeout)
    if signed_in:
        path += ("&" if "?" in path else "?") + urlencode({"login": email, "name": name})
    shop.goto(f"{server.url}{path}")
    shop.get_by_role("button", name="Open chat").click()
    shop.get_by_label("Name").first.fill(name)
    shop.get_by_label("Email").first.fill(email)
    shop.get_by_label("Your question").fill(question)
    shop.get_by_role("button", name="Start chat").click()
    shop.locator(".m.visitor:not(.pending)").wait_for()
    return shop


def post_inbound_email(server: ServerProcess, raw: bytes) -> dict:
    """Deliver a raw email to the live server's inbound webhook, signed as an MTA would."""
    import hashlib
    import hmac
    import json
    import urllib.request

    secret = os.environ.get("SUPPORTDESK_INBOUND_SECRET", "test-inbound-secret").encode()
    signature = hmac.new(secret, raw, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"{server.url}/api/v1/inbound/email",
        data=raw,
        headers={
            "X-Supportdesk-Signature": f"sha256={signature}",
            "Content-Type": "message/rfc822",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.status == 202
        return json.loads(response.read())


# --- IMAP (a real Dovecot, started by scripts/services.py) ----------------------------------------


@dataclass
class ImapServer:
    """The test Dovecot: one user; each test works in folders of its own (`new_folder`)."""

    host: str
    port: int
    user: str
    password: str

    def client(self):
        from imapclient import IMAPClient

        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        client.login(self.user, self.password)
        return client

    def new_folder(self, prefix: str = "T") -> str:
        import secrets

        name = f"{prefix}{secrets.token_hex(6)}"
        with contextlib.closing(_Logout(self.client())) as c:
            c.client.create_folder(name)
        return name

    def append(self, folder: str, *messages: bytes) -> None:
        with contextlib.closing(_Logout(self.client())) as c:
            if len(messages) == 1:
                c.client.append(folder, messages[0])
            else:
                c.client.multiappend(folder, list(messages))

    def flags(self, folder: str) -> dict[int, set[bytes]]:
        """UID -> flags, read without touching them."""
        with contextlib.closing(_Logout(self.client())) as c:
            c.client.select_folder(folder, readonly=True)
            uids = c.client.search("ALL")
            data = c.client.fetch(uids, ["FLAGS"]) if uids else {}
            return {uid: set(item[b"FLAGS"]) for uid, item in data.items()}


class _Logout:
    def __init__(self, client) -> None:
        self.client = client

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.logout()


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
