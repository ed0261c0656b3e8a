"""Shared benchmark harness: throwaway servers, production-profile daphne, percentiles, results.

API (all a benchmark module needs):

    with services() as env:              # throwaway Postgres + Redis, a migrated database
        server = start_daphne(env)       # production profile; server.url / server.ws_url / server.pid
                                         # (workers=2: two processes, server.all lists them)
        worker = start_celery(env)       # a real Celery worker, if the benchmark needs one
        ...
        server.stop()                    # also done for every process still running at exit

    manage(env, "issue_api_token", "a@example.com")  # run a management command, returns stdout
    stats = percentiles(samples_ms)      # {"median": .., "p95": .., "p99": .., "max": .., "n": ..}
    row(name, stats, throughput=..., reference=..., target=..., met=...)  # a dict for Table
    Table(title).print(rows)             # median / p95 / p99 / throughput / ratio / target / met
    write_results("chat", payload)       # bench/results/chat-<sha>-<timestamp>.json

Server logs go to a scratch folder, removed at exit unless BENCH_KEEP_LOGS=1.
Every process started here is registered and stopped (SIGTERM, then SIGKILL) on exit, on an
exception and on Ctrl-C, so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "scripts"))

import services as _services  # noqa: E402  (scripts/services.py)

free_port = _services.free_port
wait_for_port = _services.wait_for_port

# --- processes --------------------------------------------------------------------------------

_running: list[Process] = []


@dataclass
class Process:
    """A child process in its own session, logging to a file; stop() ends it and its children."""

    name: str
    command: list[str]
    popen: subprocess.Popen[bytes]
    log_path: Path
    port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    # Further processes of the same server (start_daphne(workers=N)); stopped with this one.
    siblings: list[Process] = field(default_factory=list)

    @property
    def all(self) -> list[Process]:
        return [self, *self.siblings]

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 10.0) -> None:
        for sibling in self.siblings:
            sibling.stop(timeout)
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        if self in _running:
            _running.remove(self)


def stop_all() -> None:
    for process in list(reversed(_running)):
        with contextlib.suppress(Exception):
            process.stop(timeout=5)


def _cleanup() -> None:
    stop_all()
    if os.environ.get("BENCH_KEEP_LOGS"):
        print(f"server logs kept in {_scratch}", file=sys.stderr)
    else:
        shutil.rmtree(_scratch, ignore_errors=True)


atexit.register(_cleanup)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # unwinds the with-blocks, which stop the servers


signal.signal(signal.SIGTERM, _on_sigterm)

_scratch = Path(tempfile.mkdtemp(prefix="supportdesk-bench-"))


def spawn(
    name: str, command: list[str], env: dict[str, str], *, port: int = 0, wait: float = 60.0
) -> Process:
    """Start `command` (cwd = repo root) and, with a port, wait until it listens."""
    log_path = _scratch / f"{name}-{len(_running)}.log"
    popen = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process = Process(name, command, popen, log_path, port, env)
    _running.append(process)
    if port:
        try:
            wait_for_port(port, timeout=wait)
        except TimeoutError:
            process.stop()
            raise RuntimeError(f"{name} did not start:\n{process.log()[-3000:]}") from None
    return process


# --- services ---------------------------------------------------------------------------------


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The production profile: REDIS_URL set, DEBUG off, persistent connections, no rate limits."""
    env = {**os.environ}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
            "DEBUG": "false",
            "SECRET_KEY": "bench-secret-key-not-for-production",
            "SUPPORTDESK_INBOUND_SECRET": "bench-inbound-secret",
            "SUPPORTDESK_WIDGET_SECRET": "bench-widget-secret",
            "SUPPORTDESK_RATELIMIT_ENABLED": "false",
            "SUPPORTDESK_REQUIRE_2FA": "false",  # the pages benchmark logs in with a password
            "SECURE_SSL_REDIRECT": "false",  # plain http on loopback
            "SUPPORTDESK_CELERY_EAGER": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SUPPORTDESK_WIDGET_ORIGINS": "*",
            # Every benchmark client comes from 127.0.0.1; in production they are many addresses
            # behind the load balancer, so the per-address socket cap would refuse the 500-chat run.
            "SUPPORTDESK_MAX_SOCKETS_PER_IP": "100000",
            "DATABASE_CONN_MAX_AGE": "600",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    """Run `manage.py <args>` against the benchmark database; returns its stdout."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


@contextlib.contextmanager
def services(*, migrate: bool = True) -> Iterator[dict[str, str]]:
    """Throwaway Postgres + Redis (scripts/services.py); yields a production-profile environment
    with DATABASE_URL and REDIS_URL, the database created and migrated."""
    with _services.services() as extra:
        env = base_env(extra)
        pg_port = extra["SUPPORTDESK_TEST_PG_PORT"]
        createdb = Path(extra["SUPPORTDESK_TEST_PG_BINDIR"]) / "createdb"
        subprocess.run(
            [str(createdb), "-h", "127.0.0.1", "-p", pg_port, "-U", "postgres", "supportdesk"],
            check=True,
        )
        if migrate:
            manage(env, "migrate", "--noinput")
        try:
            yield env
        finally:
            stop_all()


def start_daphne(
    env: dict[str, str], port: int | None = None, workers: int = 1, name: str = "daphne"
) -> Process:
    """daphne serving supportdesk.asgi in the production profile, started as production starts it
    (docker-compose runs `python manage.py serve`: supportdesk.server.Server, daphne's server with
    less memory per socket, 20 s pings, no websocket timeout, no access log, as the relay keeps
    none either). `workers` > 1 starts that many processes, each on its own port (as behind a
    load balancer); the first is returned and the others are in its `siblings` (stop() stops
    them all)."""
    port = port or free_port()
    first: Process | None = None
    for index in range(workers):
        worker_port = port if index == 0 else free_port()
        command = [
            sys.executable,
            "manage.py",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(worker_port),
        ]
        process = spawn(f"{name}{index}", command, env, port=worker_port)
        if first is None:
            first = process
        else:
            first.siblings.append(process)
    assert first is not None
    return first


def start_celery(env: dict[str, str], concurrency: int = 2) -> Process:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "supportdesk",
        "worker",
        "--loglevel=WARNING",
        f"--concurrency={concurrency}",
        "--pool=prefork",
        "--without-gossip",
        "--without-mingle",
    ]
    return spawn("celery", command, env)


def rss_kib(pid: int, *, children: bool = False) -> int:
    """Resident memory of a process (and optionally its children) in KiB, from /proc."""
    total = 0
    pids = [pid]
    if children:
        with contextlib.suppress(OSError):
            pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for one in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


# --- statistics and output --------------------------------------------------------------------


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """Median, p95, p99 and max (nearest-rank) of `samples`; NaN for an empty list."""
    if not samples:
        nan = float("nan")
        return {"n": 0, "median": nan, "p95": nan, "p99": nan, "max": nan}
    ordered = sorted(samples)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    return {
        "n": len(ordered),
        "median": rank(0.5),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": ordered[-1],
    }


def row(
    name: str,
    stats: dict[str, float] | None = None,
    *,
    unit: str = "ms",
    throughput: float | None = None,
    reference: float | None = None,
    value: float | None = None,
    target: str = "",
    met: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One result row. `value` is the figure compared with `reference` (default: p99)."""
    stats = stats or {}
    if value is None:
        value = stats.get("p99")
    ratio = value / reference if value is not None and reference else None
    return {
        "name": name,
        "unit": unit,
        "median": stats.get("median"),
        "p95": stats.get("p95"),
        "p99": stats.get("p99"),
        "n": stats.get("n"),
        "value": value,
        "throughput": throughput,
        "reference": reference,
        "ratio": ratio,
        "target": target,
        "met": met,
        **extra,
    }


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


class Table:
    """A fixed-width table (also valid Markdown) of rows made by `row()`."""

    columns = (
        "benchmark",
        "unit",
        "median",
        "p95",
        "p99",
        "throughput/s",
        "ratio",
        "target",
        "met",
    )

    def __init__(self, title: str = "") -> None:
        self.title = title

    def lines(self, rows: Sequence[dict[str, Any]]) -> list[str]:
        cells = [
            [
                r["name"],
                r.get("unit", ""),
                _fmt(r.get("median")),
                _fmt(r.get("p95")),
                _fmt(r.get("p99")),
                _fmt(r.get("throughput"), 0),
                (_fmt(r.get("ratio"), 2) + "x") if r.get("ratio") is not None else "-",
                r.get("target", "") or "-",
                _fmt(r.get("met")),
            ]
            for r in rows
        ]
        widths = [
            max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(self.columns)
        ]
        out = [
            "| " + " | ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True)) + " |",
            "|" + "|".join("-" * (w + 2) for w in widths) + "|",
        ]
        for line in cells:
            out.append(
                "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
            )
        return out

    def print(self, rows: Sequence[dict[str, Any]]) -> None:
        if self.title:
            print(f"\n{self.title}")
        print("\n".join(self.lines(rows)), flush=True)


def git_sha() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "nogit"


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg": [round(x, 2) for x in load],
    }


def write_results(name: str, payload: dict[str, Any] | list[dict[str, Any]]) -> Path:
    """Write `payload` (rows, plus anything else) to bench/results/<name>-<sha>-<timestamp>.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{git_sha()}-{stamp}.json"
    body = payload if isinstance(payload, dict) else {"rows": payload}
    document = {"benchmark": name, "commit": git_sha(), "at": stamp, "machine": machine(), **body}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path


def elapsed(start: float) -> str:
    return f"{time.monotonic() - start:.1f}s"
