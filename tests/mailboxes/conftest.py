"""Mailbox test helpers: messages to APPEND, a TCP proxy that cuts connections, a silent server."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from email.utils import formatdate

import pytest


def mail(
    n: int | str,
    *,
    sender: str = "dana@customer.test",
    subject: str | None = None,
    body: str = "The box arrived crushed.",
    in_reply_to: str = "",
    message_id: str | None = None,
    padding: int = 0,
) -> bytes:
    """A plain RFC 822 message with CRLF line ends, as a mail client would APPEND it."""
    headers = [
        f"From: Dana Customer <{sender}>",
        "To: support@shop.test",
        f"Subject: {subject or f'Order problem {n}'}",
        f"Message-ID: {message_id or f'<m{n}@customer.test>'}",
        f"Date: {formatdate()}",
    ]
    if in_reply_to:
        headers += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    text = body + ("\n" + "x" * 76) * (padding // 77)
    return ("\r\n".join(headers) + "\r\n\r\n" + text.replace("\n", "\r\n") + "\r\n").encode()


class CuttingProxy:
    """Forwards TCP to the IMAP server; once `cut_on` is set, drops both sides of a connection
    when the client sends those bytes (e.g. b"STORE": after tickets are committed, before the
    `\\Seen` flags reach the server)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.cut_on: bytes | None = None
        self.cuts = 0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_client and self.cut_on is not None and self.cut_on in data:
                    self.cuts += 1
                    break
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self.listener.close()


@pytest.fixture
def cutting_proxy(imap_server) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(imap_server.port)
    yield proxy
    proxy.close()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung IMAP host)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()
    for conn in held:
        conn.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (a host that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def make_mail():
    """`make_mail(n, sender=..., subject=..., in_reply_to=..., padding=...)` -> RFC 822 bytes."""
    return mail


class AuthSink:
    """A second SMTP server (a mailbox's own), which requires a login and records it."""

    def __init__(self, username: str, password: str) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        from tests.helpers.servers import free_port

        self.messages: list[tuple[str, list[str], bytes, str]] = []
        self.cond = threading.Condition()
        sink = self

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            ) == (username, password)
            return AuthResult(success=ok, auth_data=auth_data)

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                auth = session.auth_data if session.authenticated else None
                login = auth.login.decode() if auth is not None else ""
                with sink.cond:
                    sink.messages.append(
                        (envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login)
                    )
                    sink.cond.notify_all()
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator,
            auth_require_tls=False,
            auth_required=True,
        )
        self.controller.start()

    def wait_for(self, count: int, timeout: float = 15.0) -> list:
        import time

        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} emails, got {len(self.messages)}")
                self.cond.wait(remaining)
            return list(self.messages)


@pytest.fixture
def mailbox_smtp() -> Iterator[AuthSink]:
    sink = AuthSink("shop-smtp-user", "shop-smtp-pw")
    yield sink
    sink.controller.stop()


class OAuthProvider:
    """A tiny OAuth2 provider on loopback: a token endpoint (refresh_token grant, rotating refresh
    tokens, as Microsoft does) and RFC 7662 introspection, which the test Dovecot asks to check
    XOAUTH2 logins (SUPPORTDESK_TEST_OAUTH_PORT, scripts/services.py)."""

    def __init__(self, port: int) -> None:
        import json
        import urllib.parse
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.port = port
        self.lock = threading.Lock()
        self.reset()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {
                    k: v[0]
                    for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()
                }
                status, body = provider.handle(self.path, form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.refresh_tokens: set[str] = {"refresh-1"}
            self.access_tokens: set[str] = set()
            self.token_requests: list[tuple[str, dict[str, str]]] = []
            self.introspections = 0
            self.expires_in = 3600
            self.issued = 0

    def url(self, path: str = "/token") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def handle(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self.lock:
            if path == "/introspect":
                self.introspections += 1
                if form.get("token") in self.access_tokens:
                    return 200, {"active": True, "username": "support@shop.test"}
                return 200, {"active": False}
            self.token_requests.append((path, form))
            if form.get("grant_type") != "refresh_token":
                return 400, {"error": "unsupported_grant_type"}
            if form.get("refresh_token") not in self.refresh_tokens:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                }
            self.issued += 1
            self.refresh_tokens = {f"refresh-{self.issued + 1}"}  # rotated
            access = f"access-{self.issued}"
            self.access_tokens.add(access)
            return 200, {
                "access_token": access,
                "expires_in": self.expires_in,
                "token_type": "Bearer",
                "refresh_token": f"refresh-{self.issued + 1}",
            }


_oauth_provider: OAuthProvider | None = None


@pytest.fixture
def oauth_provider() -> OAuthProvider:
    import os

    global _oauth_provider
    if _oauth_provider is None:
        port = os.environ.get("SUPPORTDESK_TEST_OAUTH_PORT")
        if not port:
            pytest.fail("Run the tests through `make test` (scripts/services.py sets the port)")
        _oauth_provider = OAuthProvider(int(port))
    _oauth_provider.reset()
    return _oauth_provider
