"""Throwaway Postgres, Redis and Dovecot (IMAP) on free loopback ports, for tests and benchmarks.

    python scripts/services.py run -- pytest ...

starts both servers in a temporary folder, runs the command with DATABASE_URL and REDIS_URL set,
and stops them (also on failure or Ctrl-C). Tests restart Redis through `RedisServer` with the
same port, using the SUPPORTDESK_TEST_* variables this script exports.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def _pg_bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")


class PostgresServer:
    """A cluster in a temp dir. initdb refuses root, so it runs as the `postgres` system user."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root / "pg"
        self.port = port or free_port()
        self.bindir = _pg_bindir()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*self.as_user, *args], check=True, **kwargs)

    def start(self) -> None:
        self.root.mkdir(parents=True)
        if self.as_user:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chmod(self.root.parent, 0o755)  # noqa: S103 - the postgres user must traverse it
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.root / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            stdout=subprocess.DEVNULL,
        )
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
            "-c shared_buffers=256MB"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.root / "data"),
            "-o",
            opts,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if (self.root / "data" / "postmaster.pid").exists():
            subprocess.run(
                [
                    *self.as_user,
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.root / "data"),
                    "-m",
                    "immediate",
                    "stop",
                ],
                stdout=subprocess.DEVNULL,
                check=False,
            )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/supportdesk"


class RedisServer:
    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--logfile",
                str(self.root / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        # Restart tests replace our process with one of their own on the same port; it is ours to
        # stop all the same, so ask whatever still listens there to shut down.
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn,
        ):
            conn.sendall(b"SHUTDOWN NOSAVE\r\n")
            conn.recv(64)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = supportdesk-test-{port}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
# Tests log in with wrong passwords on purpose: no delay after a failure.
auth_failure_delay = 0
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
mail_location = maildir:~/Maildir
mail_fsync = never
# XOAUTH2: Dovecot asks the tests' loopback OAuth server (SUPPORTDESK_TEST_OAUTH_PORT) whether
# an access token is active (RFC 7662 introspection), as Google's or Microsoft's IMAP would.
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  # No auth penalty socket, so no per-IP penalty: tests fail logins on purpose from 127.0.0.1.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 500
}}
"""


class DovecotServer:
    """A real IMAP server (Debian's dovecot-imapd) configured in a temp folder: one passwd-file
    user, plain IMAP on a loopback port, the master run as root without chroot, mail stored as
    the unprivileged `nobody`. Tests APPEND messages and read flags over IMAP."""

    user = "support@shop.test"
    password = "imap-test-password"

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root / "dovecot"
        self.port = port or free_port()
        self.oauth_port = free_port()

    def start(self) -> None:
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not Path(binary).exists():
            raise RuntimeError(
                "dovecot not found: apt-get install dovecot-imapd (make system-deps)"
            )
        mail_user = pwd.getpwnam("nobody")
        (self.root / "home").mkdir(parents=True)
        for path in (self.root.parent, self.root, self.root / "home"):
            os.chmod(path, 0o755)  # noqa: S103 - the mail user must traverse it
        os.chown(self.root / "home", mail_user.pw_uid, mail_user.pw_gid)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::\n")
        (self.root / "oauth2.conf").write_text(
            "introspection_mode = post\n"
            f"introspection_url = http://127.0.0.1:{self.oauth_port}/introspect\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n"
            "force_introspection = yes\n"
        )
        (self.root / "dovecot.conf").write_text(
            DOVECOT_CONF.format(
                root=self.root, port=self.port, uid=mail_user.pw_uid, gid=mail_user.pw_gid
            )
        )
        subprocess.run([binary, "-c", str(self.root / "dovecot.conf")], check=True)
        wait_for_port(self.port)

    def stop(self) -> None:
        pid_file = self.root / "run" / "master.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.05)


@contextlib.contextmanager
def services() -> Iterator[dict[str, str]]:
    root = Path(tempfile.mkdtemp(prefix="supportdesk-services-"))
    pg = PostgresServer(root)
    redis = RedisServer(root)
    dovecot = DovecotServer(root)
    try:
        pg.start()
        redis.start()
        env = {
            "DATABASE_URL": pg.url,
            "REDIS_URL": redis.url,
            "SUPPORTDESK_TEST_REDIS_PORT": str(redis.port),
            "SUPPORTDESK_TEST_PG_PORT": str(pg.port),
            "SUPPORTDESK_TEST_PG_BINDIR": str(pg.bindir),
            "SUPPORTDESK_TEST_SERVICES_DIR": str(root),
        }
        try:
            dovecot.start()
        except (OSError, RuntimeError, subprocess.CalledProcessError, TimeoutError) as exc:
            # Only the mailbox tests need it: they fail by name (the imap_server fixture says
            # why); everything else still runs.
            print(f"services: Dovecot did not start ({exc}); IMAP tests will fail", flush=True)
        else:
            env.update(
                {
                    "SUPPORTDESK_TEST_IMAP_PORT": str(dovecot.port),
                    "SUPPORTDESK_TEST_IMAP_USER": dovecot.user,
                    "SUPPORTDESK_TEST_IMAP_PASSWORD": dovecot.password,
                    "SUPPORTDESK_TEST_OAUTH_PORT": str(dovecot.oauth_port),
                }
            )
        yield env
    finally:
        dovecot.stop()
        redis.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "run" or "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1 :]
    with services() as extra:
        print(
            f"services: Postgres on {extra['SUPPORTDESK_TEST_PG_PORT']}, Redis on "
            f"{extra['SUPPORTDESK_TEST_REDIS_PORT']}, Dovecot IMAP on "
            f"{extra.get('SUPPORTDESK_TEST_IMAP_PORT', '-')}",
            flush=True,
        )
        env = {**os.environ, **extra}
        env.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
        env.setdefault("SUPPORTDESK_INBOUND_SECRET", "test-inbound-secret")
        env.setdefault("SUPPORTDESK_WIDGET_SECRET", "test-widget-secret")
        env.setdefault("SUPPORTDESK_SECRETS_KEY", "test-secrets-key-not-for-production")
        process = subprocess.Popen(command, env=env)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            return process.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
