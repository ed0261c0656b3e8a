"""Hours accumulate from real agent sessions: a logged-in browser session over HTTP, the chat
console socket, both at once, and Chromium running static/js/activity.js, all against daphne."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from accounts.services import issue_api_token
from team import services
from team.models import ActivitySource, ActivitySpan
from tests.helpers.browser import login
from tests.helpers.chat import ChatClient, run
from tests.helpers.servers import start_daphne


class LoopbackPolicy(http.cookiejar.DefaultCookiePolicy):
    """Send Secure cookies to http://127.0.0.1, as browsers do for loopback (a trustworthy origin)."""

    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: object) -> bool:
        return True


class Session:
    """A browser-like HTTP session: cookies, the login form, the CSRF header base.html carries."""

    def __init__(self, server) -> None:
        self.server = server
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar(LoopbackPolicy()))
        )
        self.csrf = ""

    def get(self, path: str) -> str:
        with self.opener.open(self.server.url + path, timeout=10) as response:
            return response.read().decode()

    def login(self, email: str, password: str) -> None:
        form = self.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        data = urllib.parse.urlencode(
            {"username": email, "password": password, "csrfmiddlewaretoken": token}
        ).encode()
        self.opener.open(self.server.url + "/login/", data, timeout=10).read()
        page = self.get("/inbox/")
        assert 'src="/static/js/activity.js" data-activity-url="/team/heartbeat"' in page
        self.csrf = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)

    def heartbeat(self, *, idle_seconds: int = 2, csrf: bool = True) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.server.url + "/team/heartbeat",
            data=json.dumps({"visible": True, "idle_seconds": idle_seconds}).encode(),
            headers={
                "Content-Type": "application/json",
                **({"X-CSRFToken": self.csrf} if csrf else {}),
            },
            method="POST",
        )
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, {}


async def _agent(server, token: str) -> ChatClient:
    client = await ChatClient.open(
        f"{server.ws_url}/ws/agent/",
        origin=server.url,
        headers={"Authorization": f"Bearer {token}"},
    )
    await client.next(lambda f: f["type"] == "hello")
    return client


async def _beat(agent: ChatClient, **extra: object) -> None:
    await agent.send({"type": "heartbeat", "status": "online", **extra})
    await agent.next(lambda f: f["type"] == "heartbeat")


def test_heartbeats_from_a_logged_in_session_accumulate_hours(live_server, cast):
    session = Session(live_server)
    session.login(cast.alice.email, cast.password)
    for beat in range(3):
        if beat:
            time.sleep(1.2)
        assert session.heartbeat() == (200, {"counted": True})
    span = ActivitySpan.objects.get(user=cast.alice)
    assert span.source == ActivitySource.PAGE and span.heartbeats == 3
    assert 2 <= span.seconds <= 4
    assert services.seconds_for(cast.alice, services.current_season()) == span.seconds
    # An idle page (no input for 10 minutes) does not count; neither does a forged request.
    assert session.heartbeat(idle_seconds=600) == (200, {"counted": False})
    assert session.heartbeat(csrf=False)[0] == 403
    assert Session(live_server).heartbeat()[0] in (401, 403)
    assert ActivitySpan.objects.get(user=cast.alice).heartbeats == 3


def test_agent_socket_heartbeats_accumulate_hours(live_server, cast):
    token = issue_api_token(cast.bob)

    async def scenario() -> None:
        agent = await _agent(live_server, token)
        await _beat(agent, visible=True, idle_seconds=1)
        await asyncio.sleep(1.2)
        await _beat(agent, visible=True, idle_seconds=3)
        await asyncio.sleep(1.2)
        await _beat(agent, visible=True, idle_seconds=5)
        # Away, hidden or without activity info: presence only, no hours.
        await _beat(agent, visible=True, idle_seconds=1, status="away")
        await _beat(agent, visible=False, idle_seconds=1)
        await _beat(agent)
        await agent.close()

    run(scenario())
    span = ActivitySpan.objects.get(user=cast.bob)
    assert span.source == ActivitySource.CONSOLE and span.heartbeats == 3
    assert 2 <= span.seconds <= 4


def test_page_and_console_at_once_count_the_time_once(live_server, cast):
    session = Session(live_server)
    session.login(cast.alice.email, cast.password)
    token = issue_api_token(cast.alice)

    async def scenario() -> float:
        agent = await _agent(live_server, token)
        started = time.monotonic()
        for _ in range(4):
            await asyncio.to_thread(session.heartbeat)
            await _beat(agent, visible=True, idle_seconds=0)
            await asyncio.sleep(0.7)
        await asyncio.to_thread(session.heartbeat)
        elapsed = time.monotonic() - started
        await agent.close()
        return elapsed

    elapsed = run(scenario())
    span = ActivitySpan.objects.get(user=cast.alice)
    assert span.heartbeats == 9
    # Nine beats from two sources over ~3 s of work: ~3 s of support time, not 6.
    assert 2 <= span.seconds <= elapsed + 1


@pytest.fixture
def fast_beating_server(transactional_db, tmp_path, live_server_env) -> Iterator[object]:
    server = start_daphne(
        tmp_path, {**live_server_env, "SUPPORTDESK_ACTIVITY_HEARTBEAT_SECONDS": "1"}
    )
    yield server
    server.stop()


def test_chromium_on_an_agent_page_accumulates_hours(fast_beating_server, cast, page):
    login(page, fast_beating_server, cast.alice.email, cast.password)
    page.goto(f"{fast_beating_server.url}/team/")
    for step in range(8):
        page.mouse.move(100 + 20 * step, 200)  # someone working: input keeps the beats counting
        page.wait_for_timeout(500)
    span = ActivitySpan.objects.filter(user=cast.alice).get()
    assert span.source == ActivitySource.PAGE
    assert span.heartbeats >= 3 and span.seconds >= 2
