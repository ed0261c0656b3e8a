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

        from tests.conftest import free_port

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
