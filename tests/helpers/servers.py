"""Real processes for tests: daphne, Celery workers, the throwaway Redis, the test Dovecot.

Postgres and Redis are started by `scripts/services.py` (via `make test`); these start what runs
on them. The fixtures that use them (`live_server`, `celery_worker`, `redis_server`,
`imap_server`) are in tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.smtp import SmtpSink

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

from services import RedisServer, free_port, wait_for_port  # noqa: E402

__all__ = ["ROOT", "RedisServer", "free_port", "wait_for_port"]


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
