"""Smoke test of the embedded profile: no Postgres, Redis or SMTP; migrate, serve, log in, inbox."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from services import free_port, wait_for_port  # noqa: E402

PRODUCTION_ONLY = (
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "DJANGO_SETTINGS_MODULE",
)


def _embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ONLY}
    env.pop("SUPPORTDESK_CELERY_EAGER", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(
        SQLITE_PATH=str(tmp_path / "supportdesk.sqlite3"),
        MEDIA_ROOT=str(tmp_path / "media"),
        PYTHONUNBUFFERED="1",
    )
    return env


def _manage(env: dict[str, str], cwd: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_embedded_profile_boots_migrates_logs_in_and_shows_the_inbox(tmp_path: Path) -> None:
    env = _embedded_env(tmp_path)
    _manage(env, tmp_path, "migrate", "--noinput")
    _manage(
        env, tmp_path, "create_agent", "smoke@example.com", "--role", "agent",
        "--password", "smoke-test-password-1",
    )  # fmt: skip
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            wait_for_port(port, timeout=60)
        except TimeoutError:
            pytest.fail(f"serve did not start:\n{log_path.read_text(errors='replace')}")
        base = f"http://127.0.0.1:{port}"
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

        with opener.open(f"{base}/login/", timeout=15) as response:
            html = response.read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        form = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token,
                "username": "smoke@example.com",
                "password": "smoke-test-password-1",
            }
        ).encode()
        with opener.open(f"{base}/login/", data=form, timeout=15) as response:
            assert response.status == 200
            assert response.geturl().endswith("/inbox/")

        with opener.open(f"{base}/inbox/", timeout=15) as response:
            assert response.status == 200
            assert "Inbox" in response.read().decode()

        with urllib.request.urlopen(f"{base}/healthz", timeout=15) as response:
            assert response.status == 200
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
    assert server.returncode is not None


def test_embedded_profile_sends_a_due_follow_up_by_the_sweep(tmp_path: Path) -> None:
    """The follow-up batch writes with Postgres-only SQL in production; on SQLite it must not."""
    env = _embedded_env(tmp_path)
    _manage(env, tmp_path, "migrate", "--noinput")
    _manage(
        env, tmp_path, "create_agent", "smoke@example.com", "--role", "agent",
        "--password", "smoke-test-password-1",
    )  # fmt: skip
    schedule = (
        "from datetime import timedelta; from django.utils import timezone; "
        "from accounts.models import User; from customers.services import customer_for_email; "
        "from tickets import services; agent = User.objects.get(email='smoke@example.com'); "
        "ticket, _ = services.create_ticket(services.NewTicket(subject='Size chart', "
        "body_text='Which size?', customer=customer_for_email('c@example.com', name='C'))); "
        "services.schedule_follow_up(ticket, body='Here is the chart.', "
        "send_at=timezone.now() + timedelta(seconds=1), by=agent)"
    )
    _manage(env, tmp_path, "shell", "-c", schedule)
    import time

    time.sleep(1.5)
    _manage(env, tmp_path, "sweep")
    check = (
        "from mailer.models import OutboundEmail; from tickets.models import FollowUp; "
        "f = FollowUp.objects.get(); "
        "e = OutboundEmail.objects.get(ticket_message_id=f.message_id); "
        "print(f.status, e.status, e.to, e.subject)"
    )
    out = _manage(env, tmp_path, "shell", "-c", check).strip().splitlines()[-1].split()
    assert out[:3] == ["sent", "sent", "['c@example.com']"]
    assert "Size chart" in " ".join(out[3:])


def test_links_in_the_demos_emails_point_at_the_port_it_serves_on(tmp_path: Path) -> None:
    """`PORT=8101 make demo`: the CSAT survey link in the solved ticket's email uses 8101's twin."""
    import json
    import time

    env = _embedded_env(tmp_path)
    env.pop("SITE_URL", None)
    _manage(env, tmp_path, "migrate", "--noinput")
    _manage(
        env, tmp_path, "create_agent", "smoke@example.com", "--role", "agent",
        "--password", "smoke-test-password-1",
    )  # fmt: skip
    token = _manage(env, tmp_path, "issue_api_token", "smoke@example.com").strip().splitlines()[-1]
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port)],
            env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_port(port, timeout=60)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def call(method: str, path: str, body: dict) -> dict:
            request = urllib.request.Request(
                f"{base}{path}", data=json.dumps(body).encode(), headers=headers, method=method
            )
            with urllib.request.urlopen(request, timeout=15) as response:
                return json.loads(response.read())

        ticket = call(
            "POST", "/api/v1/tickets",
            {"subject": "Size chart", "body": "Which size?", "customer": {"email": "c@example.com", "name": "C"}},
        )  # fmt: skip
        call(
            "POST",
            f"/api/v1/tickets/{ticket['id']}/replies",
            {"body": "Size 10.", "internal": False},
        )
        call("PATCH", f"/api/v1/tickets/{ticket['id']}", {"status": "solved"})
        check = (
            "from email import message_from_string, policy; "
            "from mailer.models import CapturedEmail; "
            "bodies = [message_from_string(e.raw, policy=policy.default).get_body(('plain',))"
            ".get_content() for e in CapturedEmail.objects.all()]; "
            "surveys = [b for b in bodies if '/csat/' in b]; "
            f"print(bool(surveys), all('127.0.0.1:{port}/csat/' in b for b in surveys))"
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            out = _manage(env, tmp_path, "shell", "-c", check).strip().splitlines()[-1]
            if out.startswith("True"):
                break
            time.sleep(1)
        assert out == "True True", log_path.read_text(errors="replace")
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def test_embedded_profile_chats_in_waiting_and_active_chats(tmp_path: Path) -> None:
    """Chat lines take the one write path on SQLite too (no pool there: Django's connection)."""
    import asyncio
    import json

    from websockets.asyncio.client import connect

    env = _embedded_env(tmp_path)
    _manage(env, tmp_path, "migrate", "--noinput")
    _manage(env, tmp_path, "create_agent", "smoke@example.com", "--name", "Sam Smoke")
    token = _manage(env, tmp_path, "issue_api_token", "smoke@example.com").strip().splitlines()[-1]
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"127.0.0.1:{port}"

    def post(path: str, payload: dict, headers: dict[str, str]) -> dict:
        request = urllib.request.Request(
            f"http://{base}{path}",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read())

    async def scenario() -> None:
        session = await asyncio.to_thread(
            post, "/api/v1/widget/sessions", {"name": "Ben", "email": "ben@shop.example"}, {}
        )
        origin = {"Origin": f"http://{base}"}
        agent_headers = {**origin, "Authorization": f"Bearer {token}"}
        async with (
            connect(f"ws://{base}/ws/chat/?token={session['visitor_token']}", additional_headers=origin) as visitor,
            connect(f"ws://{base}/ws/agent/", additional_headers=agent_headers) as agent,
        ):  # fmt: skip

            async def next_frame(ws, kind: str) -> dict:
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 15))
                    if frame["type"] == kind:
                        return frame

            await visitor.send(json.dumps({"type": "message", "client_id": "v1", "body": "Hi?"}))
            assert (await next_frame(visitor, "ack"))["seq"] == 1
            queued = await next_frame(agent, "queue")
            assert (queued["action"], queued["conversation"]["last_seq"]) == ("waiting", 1)
            conversation_id = session["conversation_id"]
            await agent.send(json.dumps({"type": "join", "conversation_id": conversation_id}))
            await agent.send(
                json.dumps(
                    {
                        "type": "message",
                        "conversation_id": conversation_id,
                        "client_id": "a1",
                        "body": "Hello Ben",
                    }
                )
            )
            line = await next_frame(visitor, "message")
            seen = {1, line["seq"]}
            while line["client_id"] != "a1":
                line = await next_frame(visitor, "message")
                seen.add(line["seq"])
            # Auto routing (the embedded default) may announce Sam before the join ("Sam Smoke
            # will be with you in a moment."), or the join comes first: either way every line
            # arrives, in order, with no gap.
            assert sorted(seen) == list(range(1, line["seq"] + 1)) and line["seq"] in (3, 4)
            assert line["author"]["name"] == "Sam Smoke"
            sent = await asyncio.to_thread(
                post,
                f"/api/v1/chats/{conversation_id}/messages",
                {"client_id": "a2", "body": "Over HTTP"},
                {"Authorization": f"Bearer {token}"},
            )
            line = await next_frame(visitor, "message")
            assert (line["seq"], line["body"]) == (sent["seq"], "Over HTTP")
            assert sent["seq"] == max(seen) + 1

    try:
        try:
            wait_for_port(port, timeout=60)
        except TimeoutError:
            pytest.fail(f"serve did not start:\n{log_path.read_text(errors='replace')}")
        asyncio.run(scenario())
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
