"""Finding 3, the rest: connections that never finish their request (nothing sent, half the
headers, half a websocket upgrade, half a body, or headers trickled a byte at a time) are closed
after SUPPORTDESK_REQUEST_TIMEOUT_SECONDS on the real daphne, and meanwhile an agent logs in and
/healthz answers; the descriptors they held are given back (supportdesk/server.py HTTPChannel)."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from tests.helpers.servers import start_daphne

TIMEOUT = 4  # seconds, SUPPORTDESK_REQUEST_TIMEOUT_SECONDS for this daphne

HALF_HEADERS = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
HALF_UPGRADE = (
    b"GET /ws/chat/?token=x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)  # ...and never the blank line that ends it
HALF_BODY = (
    b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\nusername="
)


@pytest.fixture
def strict_daphne(transactional_db, tmp_path, live_server_env):
    server = start_daphne(
        tmp_path,
        {
            **live_server_env,
            "SUPPORTDESK_REQUEST_TIMEOUT_SECONDS": str(TIMEOUT),
            "SESSION_COOKIE_SECURE": "false",  # the login below is over plain http
        },
        name="daphne-strict",
    )
    yield server
    server.stop()


def half_open(port: int, sent: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if sent:
        sock.sendall(sent)
    return sock


def wait_closed(sock: socket.socket, deadline: float) -> bytes:
    """What the server sent before closing the connection; fails if it is still open at the
    deadline."""
    received = b""
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return received
        except TimeoutError:
            raise AssertionError(f"still open after the deadline; got {received!r}") from None
        if not chunk:
            return received
        received += chunk


def open_descriptors(server) -> int:
    with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as response:
        assert response.status == 200
        return json.loads(response.read())["checks"]["file_descriptors"]["open"]


def settled_descriptors(server) -> int:
    counts = [open_descriptors(server)]
    while len(counts) < 3 or len(set(counts[-3:])) > 1:
        time.sleep(0.2)
        counts.append(open_descriptors(server))
        assert len(counts) < 50, counts
    return counts[-1]


def log_in(server, email: str, password: str) -> str:
    """A real login through the form; the page it lands on."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(f"{server.url}/login/", timeout=5) as response:
        token = re.search(
            r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode()
        ).group(1)
    form = {"csrfmiddlewaretoken": token, "username": email, "password": password}
    with opener.open(
        f"{server.url}/login/", data=urllib.parse.urlencode(form).encode(), timeout=5
    ) as response:
        assert response.status == 200
        return response.geturl()


def test_half_sent_requests_are_closed_while_agents_log_in(cast, strict_daphne):
    server = strict_daphne
    log_in(server, cast.bob.email, cast.password)  # warm: the first request loads every view
    before = settled_descriptors(server)  # once daphne has closed the warm-up's connections
    started = time.monotonic()
    # Four kinds, 15 each, a kind at a time (daphne's listen backlog is 50).
    stalled: list[socket.socket] = []
    for sent in (b"", HALF_HEADERS, HALF_UPGRADE, HALF_BODY):
        stalled += [half_open(server.port, sent) for _ in range(15)]
        time.sleep(0.2)
    # Slowloris proper: a header byte every 0.2 s, which an idle timeout alone never ends.
    trickler = half_open(server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    trickled = threading.Event()

    def trickle() -> None:
        with contextlib.suppress(OSError):
            while time.monotonic() - started < TIMEOUT + 8:
                trickler.sendall(b"X-a: b\r\n"[:1])
                time.sleep(0.2)
        trickled.set()

    threading.Thread(target=trickle, daemon=True).start()

    # Meanwhile the desk serves: health, a login through the form, the inbox. (daphne holds
    # nearly all of them by now; a few may still wait in the kernel's accept queue.)
    assert open_descriptors(server) >= before + 50
    assert log_in(server, cast.alice.email, cast.password).endswith("/inbox/")
    assert open_descriptors(server) >= before + 50, "the stalled connections were still held"

    deadline = started + TIMEOUT + 5
    answers = [wait_closed(sock, deadline) for sock in stalled]
    assert time.monotonic() - started >= TIMEOUT - 0.5  # closed by the timeout, not at once
    # Nothing sent: closed quietly, as an idle socket. Part of a request: 408, then closed.
    assert answers[:15] == [b""] * 15, answers[:15]
    assert all(a.startswith(b"HTTP/1.1 408") for a in answers[15:]), [a[:12] for a in answers]
    assert wait_closed(trickler, deadline).startswith(b"HTTP/1.1 408")
    assert trickled.wait(10)  # the trickler's next write failed: the server had let go
    for sock in [*stalled, trickler]:
        sock.close()

    # The descriptors came back, and a complete request on a fresh connection still works.
    assert settled_descriptors(server) <= before + 2


def test_a_slow_but_steady_upload_is_not_cut(cast, strict_daphne):
    """The body's deadline grows with its length: 40 KB sent over ~6 s (past TIMEOUT) passes."""
    server = strict_daphne
    body = b"x" * 40_000
    sock = half_open(
        server.port,
        b"POST /api/v1/widget/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode(),
    )
    for start in range(0, len(body), 4_000):
        sock.sendall(body[start : start + 4_000])
        time.sleep(0.6)
    answer = wait_closed(sock, time.monotonic() + 10)
    sock.close()
    status = int(answer.split(b" ", 2)[1])
    assert status != 408 and status < 500, answer[:200]
