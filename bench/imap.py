"""Benchmark: IMAP fetch throughput, messages per minute from a mailbox into tickets.

A real Dovecot (scripts/services.py) holds the same N messages (~3 KB, 200 customers, a fifth of
them replies to earlier mail) in two folders. Supportdesk fetches one with `fetch_mailbox` (what
`manage.py sweep` and `fetch_mail` run: batches of SUPPORTDESK_IMAP_BATCH, each message stored
raw, parsed, threaded, deduplicated and filed on a ticket in its own transactions, then `\\Seen`
per batch). The reference, in the same run on the same servers, is the plain loop a script would
be: imaplib, `UID SEARCH`, `UID FETCH BODY.PEEK[]` in the same batches, each raw message INSERTed
into a Postgres table and committed, then `\\Seen`. Both are timed in their own process from
login to the last flag, after Django's or Python's start.
"""

from __future__ import annotations

import json
import subprocess
import sys
from email.utils import formatdate
from typing import Any

from bench.common import ROOT, Table, manage, row, services

BATCH = 50

_OURS = """
import json, time
from mailboxes.fetch import fetch_mailbox
from tickets.models import Ticket
started = time.monotonic()
result = fetch_mailbox({mailbox_id})
seconds = time.monotonic() - started
print(json.dumps({{"seconds": seconds, "stored": result.stored, "error": result.error,
                  "tickets": Ticket.objects.filter(mailbox_id={mailbox_id}).count()}}))
"""

_PLAIN = """
import imaplib, json, sys, time
import psycopg
host, port, user, password, folder, dsn, batch = sys.argv[1:8]
db = psycopg.connect(dsn)
db.execute("CREATE TABLE IF NOT EXISTS plain_raw (id bigserial PRIMARY KEY, uid bigint, raw bytea)")
db.commit()
started = time.monotonic()
imap = imaplib.IMAP4(host, int(port))
imap.login(user, password)
imap.select(folder)
uids = imap.uid("SEARCH", "ALL")[1][0].split()
stored = 0
for i in range(0, len(uids), int(batch)):
    chunk = b",".join(uids[i:i + int(batch)])
    typ, data = imap.uid("FETCH", chunk, "(UID BODY.PEEK[])")
    for item in data:
        if isinstance(item, tuple):
            uid = int(item[0].split(b"UID ")[1].split()[0])
            db.execute("INSERT INTO plain_raw (uid, raw) VALUES (%s, %s)", (uid, item[1]))
            db.commit()
            stored += 1
    imap.uid("STORE", chunk, "+FLAGS.SILENT", "(\\\\Seen)")
imap.logout()
print(json.dumps({"seconds": time.monotonic() - started, "stored": stored}))
"""


def _messages(count: int) -> list[bytes]:
    out = []
    for i in range(count):
        headers = [
            f"From: Customer {i % 200} <c{i % 200}@customer.test>",
            "To: support@shop.test",
            f"Subject: Order problem {i}",
            f"Message-ID: <bench{i}@customer.test>",
            f"Date: {formatdate()}",
        ]
        if i % 5 == 4 and i >= 200:
            headers += [f"In-Reply-To: <bench{i - 200}@customer.test>"]
        body = f"Hello, order {i} arrived crushed.\r\n" + ("x" * 70 + "\r\n") * 40
        out.append(("\r\n".join(headers) + "\r\n\r\n" + body).encode())
    return out


def _append(env: dict[str, str], folder: str, messages: list[bytes]) -> None:
    from imapclient import IMAPClient

    client = IMAPClient("127.0.0.1", port=int(env["SUPPORTDESK_TEST_IMAP_PORT"]), ssl=False)
    client.login(env["SUPPORTDESK_TEST_IMAP_USER"], env["SUPPORTDESK_TEST_IMAP_PASSWORD"])
    client.create_folder(folder)
    for start in range(0, len(messages), 1000):
        client.multiappend(folder, messages[start : start + 1000])
    client.logout()


def _run(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=3600
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(quick: bool) -> list[dict[str, Any]]:
    count = 1000 if quick else 5000
    with services() as env:
        env = {
            **env,
            "SUPPORTDESK_SECRETS_KEY": "bench-secrets-key",
            "SUPPORTDESK_IMAP_BATCH": str(BATCH),
        }
        messages = _messages(count)
        _append(env, "Ours", messages)
        _append(env, "Plain", messages)
        host, port = "127.0.0.1", env["SUPPORTDESK_TEST_IMAP_PORT"]
        user, password = env["SUPPORTDESK_TEST_IMAP_USER"], env["SUPPORTDESK_TEST_IMAP_PASSWORD"]
        out = manage(
            env,
            "add_mailbox",
            "support@shop.test",
            "--imap-host",
            host,
            "--imap-port",
            port,
            "--imap-user",
            user,
            "--imap-password",
            password,
            "--imap-security",
            "none",
            "--folder",
            "Ours",
        )
        mailbox_id = int(out.strip().splitlines()[-1])
        ours = _run(
            [sys.executable, "manage.py", "shell", "-c", _OURS.format(mailbox_id=mailbox_id)], env
        )
        plain = _run(
            [
                sys.executable,
                "-c",
                _PLAIN,
                host,
                port,
                user,
                password,
                "Plain",
                env["DATABASE_URL"],
                str(BATCH),
            ],
            env,
        )
    ours_rate = ours["stored"] / ours["seconds"] * 60
    plain_rate = plain["stored"] / plain["seconds"] * 60
    rows = [
        row(
            f"IMAP fetch into tickets: {count:,} messages (messages/min)",
            unit="/min",
            value=ours_rate,
            throughput=ours_rate / 60,
            reference=plain_rate,
            target="all filed, each once",
            met=ours["stored"] == count and not ours["error"],
            messages=ours["stored"],
            tickets=ours["tickets"],
            seconds=ours["seconds"],
        ),
        row(
            "plain imaplib fetch-and-store loop, same messages (messages/min)",
            unit="/min",
            value=plain_rate,
            throughput=plain_rate / 60,
            messages=plain["stored"],
            seconds=plain["seconds"],
        ),
    ]
    Table("imap").print(rows)
    return rows
