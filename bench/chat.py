"""Chat delivery benchmark: Supportdesk against a bare websockets + Redis relay, same machine, same run.

Each conversation has a visitor socket and an agent socket; a message is sent at a steady rate,
alternating visitor -> agent and agent -> visitor, and timed from the send until the other side
receives it. Supportdesk runs as a production-profile daphne process on throwaway Postgres and
Redis, so every message is committed to Postgres (with its seq) before it is delivered; the
reference (bench/relay.py) has no database. Lost and duplicated messages are counted by client_id
after a drain period. Also measured: RSS growth per idle socket over 1,000 idle sockets.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import random
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect

from bench.common import (
    Process,
    free_port,
    manage,
    percentiles,
    row,
    rss_kib,
    services,
    spawn,
    start_daphne,
)

AGENT_EMAIL = "bench-agent@example.com"
WIDGET_ORIGIN = "http://shop.example"
SEED = 7
# (conversations, messages per second per conversation, target ratio of p99 to the reference,
# kind). "active": an agent took the chat, lines alternate visitor -> agent and agent -> visitor.
# "waiting": no agent yet, the first lines every customer types; the visitor's two tabs (one per
# process) take turns, every line also updates the queue of the agents online (two consoles).
FULL = [
    (50, 2.0, None, "active"),
    (100, 2.0, 2.0, "active"),
    (100, 2.0, 3.0, "waiting"),
    (200, 2.0, None, "active"),
    (500, 1.0, 5.0, "active"),
]
QUICK = [(100, 2.0, 2.0, "active"), (100, 2.0, 3.0, "waiting")]
QUEUE_CONSOLES = 2
CONNECT_CONCURRENCY = 50
# Server processes for the load runs, for both systems: one per core, as deployed behind a load
# balancer (the targets are "on 2 cores"). A conversation's visitor and agent sockets are on
# different processes, so every line crosses Redis. Idle memory is measured on one process.
PROCESSES = int(os.environ.get("BENCH_CHAT_PROCESSES", min(2, os.cpu_count() or 1)))


@dataclass
class Tracker:
    """What was sent when, and what arrived where: latency, loss and duplicates by client_id."""

    sent: dict[str, float] = field(default_factory=dict)
    delivered: set[str] = field(default_factory=set)
    duplicates: int = 0
    measure_from: float = float("inf")
    measure_until: float = float("inf")
    latencies: list[float] = field(default_factory=list)
    measured_sent: int = 0

    def on_frame(self, role: str, raw: str | bytes) -> dict[str, Any] | None:
        now = time.perf_counter()
        frame = json.loads(raw)
        if frame.get("type") != "message":
            return frame
        client_id = frame.get("client_id") or ""
        parts = client_id.split(":")
        if len(parts) != 3 or parts[1] == role:
            return frame  # our own echo, or a system message
        if client_id in self.delivered:
            self.duplicates += 1
            return frame
        self.delivered.add(client_id)
        sent_at = self.sent.get(client_id)
        if sent_at is not None and self.measure_from <= sent_at < self.measure_until:
            self.latencies.append((now - sent_at) * 1000)
        return frame


@dataclass
class Side:
    ws: ClientConnection
    role: str  # "v" (visitor), "a" (agent) or "w" (the visitor's second tab)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None


@dataclass
class Conversation:
    id: int
    visitor: Side | None = None
    agent: Side | None = None


async def _open(url: str, headers: dict[str, str]) -> ClientConnection:
    return await connect(
        url,
        additional_headers=headers,
        open_timeout=60,
        close_timeout=2,
        ping_interval=None,
        compression=None,
        max_queue=None,
    )


def _start_reader(side: Side, tracker: Tracker, is_ready: Callable[[dict[str, Any]], bool]) -> None:
    async def read() -> None:
        try:
            async for raw in side.ws:
                frame = tracker.on_frame(side.role, raw)
                if frame is not None and not side.ready.is_set() and is_ready(frame):
                    side.ready.set()
        except Exception:  # noqa: S110 - a closed socket shows up as lost messages
            pass

    side.reader = asyncio.create_task(read())


async def _bounded(jobs: list[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            return await job()

    return await asyncio.gather(*(one(job) for job in jobs))


# --- systems under test ---------------------------------------------------------------------------


class Relay:
    """The reference: bench/relay.py as its own process."""

    name = "reference"

    def __init__(self, env: dict[str, str], processes: int = 1) -> None:
        self.env = env
        self.processes = processes
        self.process: Process | None = None
        self.extra: list[Side] = []

    def start(self) -> None:
        for _ in range(self.processes):
            port = free_port()
            process = spawn(
                "relay",
                [
                    sys.executable,
                    "-m",
                    "bench.relay",
                    "--port",
                    str(port),
                    "--redis",
                    self.env["REDIS_URL"],
                ],
                self.env,
                port=port,
            )
            if self.process is None:
                self.process = process
            else:
                self.process.siblings.append(process)

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    async def open_conversations(
        self, count: int, tracker: Tracker, kind: str = "active"
    ) -> list[Conversation]:
        """Two sockets per conversation, whatever the kind: the relay has no queue or agents."""
        assert self.process is not None
        servers = self.process.all
        conversations = [Conversation(id=i + 1) for i in range(count)]

        async def open_pair(conv: Conversation) -> None:
            for offset, role in enumerate(("v", "a")):
                base = servers[(conv.id + offset) % len(servers)].ws_url
                ws = await _open(f"{base}/ws?conv={conv.id}", {})
                side = Side(ws, role)
                side.ready.set()
                _start_reader(side, tracker, lambda f: True)
                setattr(conv, "visitor" if role == "v" else "agent", side)

        await _bounded([lambda c=c: open_pair(c) for c in conversations], CONNECT_CONCURRENCY)
        return conversations

    def frame(self, conv: Conversation, role: str, client_id: str, body: str) -> str:
        return json.dumps({"type": "message", "client_id": client_id, "body": body})

    async def open_idle(self, count: int) -> list[ClientConnection]:
        assert self.process is not None
        base = self.process.ws_url
        return await _bounded(
            [lambda i=i: _open(f"{base}/ws?conv=idle{i}", {}) for i in range(count)],
            CONNECT_CONCURRENCY,
        )


class Supportdesk:
    """daphne in the production profile on the throwaway Postgres and Redis."""

    name = "supportdesk"

    def __init__(self, env: dict[str, str], token: str, processes: int = 1) -> None:
        self.env = env
        self.token = token
        self.processes = processes
        self.process: Process | None = None
        self.extra: list[Side] = []  # sockets that are no side of a conversation (consoles)

    def start(self) -> None:
        self.process = start_daphne(self.env, workers=self.processes)

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def _sessions(self, count: int, tag: str) -> list[dict[str, Any]]:
        assert self.process is not None
        url = f"{self.process.url}/api/v1/widget/sessions"

        def create(i: int) -> dict[str, Any]:
            payload = {"name": f"Visitor {tag}{i}", "email": f"v{tag}{i}@example.com"}
            request = urllib.request.Request(  # noqa: S310 - our own http:// URL
                url,
                data=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json", "Origin": WIDGET_ORIGIN},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return json.loads(response.read())

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            return list(pool.map(create, range(count)))

    def _agent_headers(self, server: Process | None = None) -> dict[str, str]:
        # The console's page is served by the process it connects to: agent sockets compare the
        # Origin's scheme, host and port with their own.
        server = server or self.process
        assert server is not None
        return {"Authorization": f"Bearer {self.token}", "Origin": server.url}

    def _visitor_url(self, token: str, index: int = 0) -> str:
        assert self.process is not None
        server = self.process.all[index % len(self.process.all)]
        return f"{server.ws_url}/ws/chat/?token={quote(token)}"

    async def open_conversations(
        self, count: int, tracker: Tracker, kind: str = "active"
    ) -> list[Conversation]:
        assert self.process is not None
        tag = f"{int(time.time() * 1000) % 10**9}-"
        sessions = await asyncio.to_thread(self._sessions, count, tag)
        conversations = [Conversation(id=s["conversation_id"]) for s in sessions]
        tokens = {s["conversation_id"]: s["visitor_token"] for s in sessions}

        async def open_visitor(conv: Conversation) -> None:
            ws = await _open(self._visitor_url(tokens[conv.id], conv.id), {"Origin": WIDGET_ORIGIN})
            conv.visitor = Side(ws, "v")
            _start_reader(conv.visitor, tracker, lambda f: f.get("type") == "hello")

        await _bounded([lambda c=c: open_visitor(c) for c in conversations], CONNECT_CONCURRENCY)
        if kind == "waiting":
            await self._open_waiting(conversations, tokens, tracker)
            return conversations
        # One dispatcher socket takes every chat, so the "joined" queue events of the setup go to
        # one socket instead of to every agent socket already open (N^2 frames of setup).
        dispatcher = await _open(f"{self.process.ws_url}/ws/agent/", self._agent_headers())
        for conv in conversations:
            await dispatcher.send(json.dumps({"type": "join", "conversation_id": conv.id}))
        taken: set[int] = set()
        pending = {c.id for c in conversations}
        while not pending <= taken:
            frame = json.loads(await asyncio.wait_for(dispatcher.recv(), 120))
            if frame.get("type") == "message":
                taken.add(frame["conversation_id"])
        await dispatcher.close()

        async def open_agent(conv: Conversation) -> None:
            servers = self.process.all  # type: ignore[union-attr]
            server = servers[(conv.id + 1) % len(servers)]
            ws = await _open(f"{server.ws_url}/ws/agent/", self._agent_headers(server))
            conv.agent = Side(ws, "a")
            # The join's replay (the "joined" system line) shows the socket is in the chat group.
            _start_reader(
                conv.agent,
                tracker,
                lambda f: f.get("type") == "message" and f.get("conversation_id") == conv.id,
            )
            await ws.send(json.dumps({"type": "join", "conversation_id": conv.id}))

        await _bounded([lambda c=c: open_agent(c) for c in conversations], CONNECT_CONCURRENCY)
        return conversations

    async def _open_waiting(
        self, conversations: list[Conversation], tokens: dict[int, str], tracker: Tracker
    ) -> None:
        """Nobody takes the chats: the visitor's second tab (on the other process) is the other
        side, and a console per process follows the queue (a queue frame per visitor line)."""
        assert self.process is not None
        for index in range(QUEUE_CONSOLES):
            server = self.process.all[index % len(self.process.all)]
            ws = await _open(f"{server.ws_url}/ws/agent/", self._agent_headers(server))
            console = Side(ws, "q")
            _start_reader(console, tracker, lambda f: f.get("type") == "hello")
            self.extra.append(console)

        async def open_tab(conv: Conversation) -> None:
            url = self._visitor_url(tokens[conv.id], conv.id + 1)
            conv.agent = Side(await _open(url, {"Origin": WIDGET_ORIGIN}), "w")
            _start_reader(conv.agent, tracker, lambda f: f.get("type") == "hello")

        await _bounded([lambda c=c: open_tab(c) for c in conversations], CONNECT_CONCURRENCY)

    def frame(self, conv: Conversation, role: str, client_id: str, body: str) -> str:
        frame: dict[str, Any] = {"type": "message", "client_id": client_id, "body": body}
        if role == "a":
            frame["conversation_id"] = conv.id
        return json.dumps(frame)

    async def open_idle(self, count: int) -> list[ClientConnection]:
        script = (
            "import json; from livechat.models import Conversation; "
            "from livechat.services import issue_visitor_token; "
            f"cs = Conversation.objects.bulk_create([Conversation(visitor_email=f'idle{{i}}@example.com') for i in range({count})]); "
            "print(json.dumps([issue_visitor_token(c) for c in cs]))"
        )
        out = await asyncio.to_thread(manage, self.env, "shell", "-c", script)
        tokens = json.loads(out.strip().splitlines()[-1])
        return await _bounded(
            [lambda t=t: _open(self._visitor_url(t), {"Origin": WIDGET_ORIGIN}) for t in tokens],
            CONNECT_CONCURRENCY,
        )


# --- the load ------------------------------------------------------------------------------------


async def _load(
    system: Relay | Supportdesk,
    count: int,
    rate: float,
    seconds: float,
    warmup: float,
    kind: str = "active",
) -> dict[str, Any]:
    tracker = Tracker()
    t0 = time.perf_counter()
    conversations = await system.open_conversations(count, tracker, kind)
    sides = [s for c in conversations for s in (c.visitor, c.agent) if s is not None]
    sides += system.extra
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in sides)), 120)
    setup = time.perf_counter() - t0

    loop = asyncio.get_running_loop()
    rng = random.Random(SEED)
    interval = 1.0 / rate
    start = loop.time() + 0.5
    measure_start = start + warmup
    end = measure_start + seconds
    offset = time.perf_counter() - loop.time()
    tracker.measure_from = measure_start + offset
    tracker.measure_until = end + offset
    body = "x" * 80

    async def talk(conv: Conversation, phase: float) -> None:
        assert conv.visitor is not None and conv.agent is not None
        due = start + phase * interval
        number = 0
        while due < end:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            side = conv.visitor if number % 2 == 0 else conv.agent
            assert side is not None
            role = side.role
            client_id = f"{conv.id}:{role}:{number}"
            tracker.sent[client_id] = time.perf_counter()
            if tracker.measure_from <= tracker.sent[client_id] < tracker.measure_until:
                tracker.measured_sent += 1
            with contextlib.suppress(Exception):  # a failed send is counted as lost
                await side.ws.send(system.frame(conv, role, client_id, body))
            number += 1
            due += interval

    await asyncio.gather(*(talk(c, rng.random()) for c in conversations))
    # Drain: wait until everything arrived or 10 s passed.
    deadline = loop.time() + 10
    while len(tracker.delivered) < len(tracker.sent) and loop.time() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # late duplicates
    lost = len(tracker.sent) - len(tracker.delivered)
    for side in sides:
        if side.reader:
            side.reader.cancel()
    await asyncio.gather(*(s.ws.close() for s in sides), return_exceptions=True)
    stats = percentiles(tracker.latencies)
    return {
        "stats": stats,
        "sent": len(tracker.sent),
        "lost": lost,
        "duplicates": tracker.duplicates,
        "throughput": len(tracker.latencies) / seconds,
        "setup_seconds": round(setup, 1),
    }


async def _idle_memory(system: Relay | Supportdesk, count: int) -> dict[str, Any]:
    assert system.process is not None
    # Warm-up: first sockets pay for lazy imports and caches, not per-connection state.
    warm = await system.open_idle(20)
    await asyncio.gather(*(ws.close() for ws in warm))
    await asyncio.sleep(1.0)
    before = rss_kib(system.process.pid)
    sockets = await system.open_idle(count)
    await asyncio.sleep(3.0)
    after = rss_kib(system.process.pid)
    open_count = sum(1 for ws in sockets if ws.close_code is None)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {"kib_per_socket": (after - before) / count, "open": open_count, "rss_kib": after}


def _scenario_rows(
    count: int,
    rate: float,
    target: float | None,
    kind: str,
    reference: dict[str, Any],
    ours: dict[str, Any],
) -> list[dict[str, Any]]:
    label = f"chat {count} {kind} conv x {rate:g}/s"
    ref_p99 = reference["stats"]["p99"]
    rows = []
    for name, result in (("reference", reference), ("supportdesk", ours)):
        clean = result["lost"] == 0 and result["duplicates"] == 0
        is_ours = name == "supportdesk"
        met: bool | None = None
        target_text = "0 lost/dup"
        if is_ours and target is not None:
            met = clean and result["stats"]["p99"] <= target * ref_p99
            target_text = f"p99 <= {target:g}x ref, 0 lost/dup"
        elif is_ours:
            met = clean
        rows.append(
            row(
                f"{label}: {name}",
                result["stats"],
                throughput=result["throughput"],
                reference=ref_p99 if is_ours else None,
                target=target_text if is_ours else "",
                met=met,
                sent=result["sent"],
                lost=result["lost"],
                duplicates=result["duplicates"],
                setup_seconds=result["setup_seconds"],
            )
        )
    return rows


async def _run(env: dict[str, str], token: str, quick: bool) -> list[dict[str, Any]]:
    scenarios = QUICK if quick else FULL
    seconds, warmup = (10.0, 3.0) if quick else (30.0, 5.0)
    idle = 200 if quick else 1000
    rows: list[dict[str, Any]] = []
    for count, rate, target, kind in scenarios:
        results = {}
        for system in (Relay(env, PROCESSES), Supportdesk(env, token, PROCESSES)):
            system.start()
            try:
                results[system.name] = await _load(system, count, rate, seconds, warmup, kind)
            finally:
                system.stop()
            r = results[system.name]
            print(
                f"  {system.name:11} {count} {kind} x {rate:g}/s: "
                f"p50 {r['stats']['median']:.1f} ms, "
                f"p99 {r['stats']['p99']:.1f} ms, lost {r['lost']}, dup {r['duplicates']} "
                f"(setup {r['setup_seconds']} s)",
                flush=True,
            )
        rows += _scenario_rows(
            count, rate, target, kind, results["reference"], results["supportdesk"]
        )
    memory = {}
    for system in (Relay(env), Supportdesk(env, token)):
        system.start()
        try:
            memory[system.name] = await _idle_memory(system, idle)
        finally:
            system.stop()
        print(f"  {system.name:11} idle: {memory[system.name]}", flush=True)
    ref = memory["reference"]["kib_per_socket"]
    for name, result in memory.items():
        is_ours = name == "supportdesk"
        rows.append(
            row(
                f"memory per idle socket ({idle}): {name}",
                unit="KiB",
                value=result["kib_per_socket"],
                reference=ref if is_ours else None,
                target="<= 2x ref" if is_ours else "",
                met=(result["kib_per_socket"] <= 2 * ref and result["open"] == idle)
                if is_ours
                else None,
                open_sockets=result["open"],
            )
        )
        rows[-1]["median"] = result["kib_per_socket"]
    return rows


def run(quick: bool) -> list[dict[str, Any]]:
    with services() as env:
        manage(env, "create_agent", AGENT_EMAIL, "--name", "Bench Agent")
        token = manage(env, "issue_api_token", AGENT_EMAIL).strip().splitlines()[-1]
        return asyncio.run(_run(env, token, quick))


if __name__ == "__main__":
    from bench.common import Table

    Table("chat").print(run("--quick" in sys.argv))
