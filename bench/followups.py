"""Benchmark 3: 10,000 follow-ups due at once, sent by one Celery worker, against plain Celery.

Supportdesk: FollowUp rows (the rows `tickets.services.schedule_follow_up` makes, bulk-created)
are all promised for one instant T, 3 s after the worker and beat are up (as when 10,000 agents
all promised "tomorrow 9:00"); one real worker (prefork, concurrency 2, production profile) and
Celery beat running the `supportdesk.sweep` task every second (whose follow-up sweep arms a timer
task at T) turn them into replies and deliver the durable OutboundEmail rows into an aiosmtpd sink
in this process, which counts messages and Message-IDs.

    run 1: throughput, no crash
    run 2: kill -9 of the worker's whole process group at ~30%, a new worker started: every
           follow-up must arrive, duplicates only for rows in flight at the kill, same Message-ID
    reference: bench/plain_celery.py, one task and one SMTP connection per email, same broker,
           same sink, same worker concurrency

Emails per minute = emails / (last arrival - trigger), where the trigger is T, the instant the
rows become due (database clock, converted to time.monotonic()), with worker and beat already
running (the first enqueue for the reference).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import ROOT, Table, free_port, row, services, spawn, start_celery

TARGET_RATIO = 3.0
KILL_LEASE_SECONDS = 10
PROMISE_AHEAD = 3.0  # the batch is promised for this far ahead when the run starts
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


class Sink:
    """An aiosmtpd server counting arrivals and Message-IDs (header only: parsing is the bottleneck
    a real sink would not have)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.lock = threading.Lock()
        self.ids: list[bytes] = []
        self.last = 0.0
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                found = MESSAGE_ID.search(envelope.original_content or envelope.content)
                with sink.lock:
                    sink.ids.append(found.group(1) if found else b"")
                    sink.last = time.monotonic()
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def reset(self) -> None:
        with self.lock:
            self.ids.clear()
            self.last = 0.0

    def count(self) -> int:
        with self.lock:
            return len(self.ids)

    def unique(self) -> int:
        with self.lock:
            return len(set(self.ids))

    def stop(self) -> None:
        self.controller.stop()


def _setup(env: dict[str, str], count: int, tag: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.followups", "setup", str(count), tag],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"follow-up setup failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _sql(env: dict[str, str], query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as conn:
        cursor = conn.execute(query, params or [])
        return cursor.fetchall() if cursor.description else []


def _wait(sink: Sink, expected: int, timeout: float, *, on_progress: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if on_progress:
            on_progress(sink.count())
        if sink.unique() >= expected:
            return
        time.sleep(0.05)


def _promise(env: dict[str, str], subject: str) -> float:
    """The trigger, as in production: every follow-up of the batch (set up an hour ahead) is
    promised for one instant T a few seconds from now (database clock), as when 10,000 agents all
    promised "tomorrow 9:00", and the clock starts at T. (It used to flip send_at to now() and
    start the clock there: a promise nobody makes, for "now", that the product could only learn
    of at beat's next tick; a real promise is stored ahead of its instant.) Returns T on this
    process's time.monotonic() clock."""
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        [(due,)] = conn.execute(
            "SELECT clock_timestamp() + make_interval(secs => %s)", [PROMISE_AHEAD]
        ).fetchall()
        conn.execute(
            "UPDATE tickets_followup f SET send_at = %s FROM tickets_ticket t "
            "WHERE t.id = f.ticket_id AND t.subject LIKE %s",
            [due, f"{subject}%"],
        )
        # T on time.monotonic(): its distance from the database's clock, read in a round trip of
        # well under a millisecond on the open connection, at the middle of that round trip.
        before = time.monotonic()
        [(until_due,)] = conn.execute(
            "SELECT extract(epoch FROM %s - clock_timestamp())", [due]
        ).fetchall()
        after = time.monotonic()
    if until_due <= 0:
        raise RuntimeError(
            "the follow-ups fell due before the clock started: promise further ahead"
        )
    return (before + after) / 2 + float(until_due)


def _supportdesk_run(
    env: dict[str, str], sink: Sink, count: int, *, kill_at: float | None
) -> dict[str, Any]:
    if kill_at:
        # A short lease, so rows in flight at the kill are reclaimed in seconds rather than after
        # the production default (SUPPORTDESK_MAIL_LEASE_SECONDS=120); reported in the table.
        env = {**env, "SUPPORTDESK_MAIL_LEASE_SECONDS": str(KILL_LEASE_SECONDS)}
    batch = _setup(env, count, "kill" if kill_at else "plain")
    sink.reset()
    worker = start_celery(env, concurrency=2)
    schedule = Path(tempfile.mkdtemp(prefix="bench-beat-")) / "schedule"
    beat = spawn(
        "beat",
        [sys.executable, "-m", "celery", "-A", "supportdesk", "beat", "--loglevel=WARNING",
         f"--schedule={schedule}"],
        env,
    )  # fmt: skip
    time.sleep(5)  # the worker's pool and beat are up before the clock starts
    t0 = _promise(env, batch["subject"])
    state: dict[str, Any] = {"killed": False, "in_flight": 0, "killed_at": 0}

    def maybe_kill(arrived: int) -> None:
        nonlocal worker
        if kill_at is None or state["killed"] or arrived < count * kill_at:
            return
        # The whole process group: the main process and its prefork children, no goodbye.
        os.killpg(worker.pid, signal.SIGKILL)
        worker.popen.wait(10)
        worker.stop()
        state["killed"] = True
        state["killed_at"] = arrived
        state["in_flight"] = _sql(
            env, "SELECT count(*) FROM mailer_outboundemail WHERE status = 'sending'"
        )[0][0]
        worker = start_celery(env, concurrency=2)

    # After a kill, rows in flight wait for their lease (mailer.delivery.lease()) to be reclaimed.
    _wait(sink, count, timeout=600 if kill_at else 300, on_progress=maybe_kill)
    elapsed = (sink.last or time.monotonic()) - t0
    time.sleep(1 if not kill_at else 3)  # let a late duplicate show itself
    beat.stop()
    worker.stop()
    expected = {
        message_id.encode()
        for (message_id,) in _sql(
            env,
            "SELECT e.message_id FROM mailer_outboundemail e JOIN tickets_ticket t "
            "ON t.id = e.ticket_id WHERE t.subject LIKE %s",
            [f"{batch['subject']}%"],
        )
    }
    # Where the time went: the window in which follow-ups became replies, the one in which their
    # emails were marked sent, and when the first reply was made, all from T (database clock).
    phases = _sql(
        env,
        "SELECT extract(epoch FROM max(m.created_at) - min(f.send_at)),"
        " extract(epoch FROM max(e.sent_at) - min(f.send_at)),"
        " extract(epoch FROM min(m.created_at) - min(f.send_at))"
        " FROM tickets_followup f JOIN tickets_ticket t ON t.id = f.ticket_id"
        " LEFT JOIN tickets_message m ON m.id = f.message_id"
        " LEFT JOIN mailer_outboundemail e ON e.ticket_message_id = m.id"
        " WHERE t.subject LIKE %s",
        [f"{batch['subject']}%"],
    )[0]
    still_scheduled = _sql(
        env,
        "SELECT count(*) FROM tickets_followup f JOIN tickets_ticket t ON t.id = f.ticket_id "
        "WHERE f.status = 'scheduled' AND t.subject LIKE %s",
        [f"{batch['subject']}%"],
    )[0][0]
    with sink.lock:
        received = Counter(sink.ids)
    lost = len(expected - set(received)) + still_scheduled
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    return {
        "emails": len(set(received) & expected),
        "seconds": elapsed,
        "per_minute": count / elapsed * 60,
        "lost": lost,
        "duplicates": duplicates,
        "duplicate_ids_all_known": all(mid in expected for mid in received),
        "converted_s": float(phases[0] or 0),
        "sent_s": float(phases[1] or 0),
        "first_reply_s": float(phases[2] or 0),  # how late the first follow-up became a reply
        **state,
    }


def _plain_run(env: dict[str, str], sink: Sink, count: int) -> dict[str, Any]:
    sink.reset()
    redis = env["REDIS_URL"].rsplit("/", 1)[0] + "/2"
    plain_env = {**env, "PLAIN_CELERY_BROKER": redis, "PLAIN_SMTP_HOST": "127.0.0.1",
                 "PLAIN_SMTP_PORT": str(sink.port)}  # fmt: skip
    worker = spawn(
        "plain-celery",
        [sys.executable, "-m", "celery", "-A", "bench.plain_celery", "worker", "--loglevel=WARNING",
         "--concurrency=2", "--pool=prefork", "--without-gossip", "--without-mingle"],
        plain_env,
    )  # fmt: skip
    time.sleep(4)
    os.environ["PLAIN_CELERY_BROKER"] = redis
    from bench import plain_celery

    plain_celery.app.conf.broker_url = redis
    t0 = time.monotonic()
    with plain_celery.app.producer_or_acquire() as producer:
        for number in range(count):
            plain_celery.send_follow_up.apply_async(
                (number, f"customer{number}@example.com"), producer=producer
            )
    _wait(sink, count, timeout=600)
    elapsed = (sink.last or time.monotonic()) - t0
    worker.stop()
    return {"emails": sink.unique(), "seconds": elapsed, "per_minute": count / elapsed * 60}


def run(quick: bool) -> list[dict[str, Any]]:
    count = 1_000 if quick else 10_000
    sink = Sink()
    try:
        with services() as base:
            env = {**base, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(sink.port),
                   "SUPPORTDESK_SWEEP_SECONDS": "1"}  # fmt: skip
            plain = _plain_run(env, sink, count)
            print(f"  plain Celery: {plain['per_minute']:,.0f}/min", flush=True)
            ours = _supportdesk_run(env, sink, count, kill_at=None)
            print(
                f"  Supportdesk: {ours['per_minute']:,.0f}/min (all replies made at "
                f"{ours['converted_s']:.1f}s, all sent at {ours['sent_s']:.1f}s, first reply at "
                f"{ours['first_reply_s']:.2f}s)",
                flush=True,
            )
            killed = _supportdesk_run(env, sink, count, kill_at=0.3)
            print(
                f"  Supportdesk with kill -9 at {killed['killed_at']}: lost {killed['lost']}, "
                f"{killed['duplicates']} duplicates, {killed['in_flight']} in flight",
                flush=True,
            )
    finally:
        sink.stop()
    ratio = ours["per_minute"] / plain["per_minute"]
    rows = [
        row(
            f"follow-ups: {count:,} due at once, one worker (emails/min)",
            unit="/min",
            value=ours["per_minute"],
            throughput=ours["per_minute"] / 60,
            reference=plain["per_minute"],
            target=">=3x plain Celery",
            met=ratio >= TARGET_RATIO and ours["lost"] == 0,
            emails=ours["emails"],
            seconds=ours["seconds"],
            lost=ours["lost"],
            duplicates=ours["duplicates"],
        ),
        row(
            f"follow-ups, kill -9 at {killed['killed_at']:,}: lost {killed['lost']}, "
            f"resent {killed['duplicates']} (in flight {killed['in_flight']}, "
            f"lease {KILL_LEASE_SECONDS} s)",
            unit="/min",
            value=killed["per_minute"],
            throughput=killed["per_minute"] / 60,
            target="0 lost, resends <= in flight",
            met=killed["lost"] == 0
            and killed["duplicates"] <= killed["in_flight"]
            and killed["duplicate_ids_all_known"],
            **{k: v for k, v in killed.items() if k != "per_minute"},
        ),
        row(
            "plain Celery reference: one task + one SMTP connection per email (emails/min)",
            unit="/min",
            value=plain["per_minute"],
            throughput=plain["per_minute"] / 60,
            emails=plain["emails"],
            seconds=plain["seconds"],
        ),
    ]
    Table("follow-ups").print(rows)
    return rows


def _bulk_setup(count: int, tag: str) -> dict[str, Any]:
    """The rows schedule_follow_up makes, for `count` tickets, in a few bulk statements."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from accounts.models import User
    from customers.models import Customer, CustomerEmail
    from tickets.models import AuthorType, FollowUp, Message, Status, Ticket

    stamp = f"{tag}-{time.time_ns()}"
    subject = f"Bench {stamp}"
    now = timezone.now()
    with transaction.atomic():
        agent, _ = User.objects.get_or_create(
            email="followups@bench.supportdesk", defaults={"name": "Fran Follow", "role": "agent"}
        )
        customers = Customer.objects.bulk_create(
            [Customer(name=f"Customer {i}") for i in range(count)], batch_size=2000
        )
        CustomerEmail.objects.bulk_create(
            [
                CustomerEmail(customer=c, address=f"c{i}.{stamp}@example.com", is_primary=True)
                for i, c in enumerate(customers)
            ],
            batch_size=2000,
        )
        tickets = Ticket.objects.bulk_create(
            [
                Ticket(
                    subject=f"{subject} #{i}", customer=c, assignee=agent, status=Status.OPEN,
                    search_document=f"{subject} #{i}",
                )
                for i, c in enumerate(customers)
            ],
            batch_size=2000,
        )  # fmt: skip
        Message.objects.bulk_create(
            [
                Message(
                    ticket=t, author_type=AuthorType.CUSTOMER, author_customer=t.customer,
                    body_text="When will my order ship?", message_id=f"<q{t.pk}.{stamp}@example.com>",
                )
                for t in tickets
            ],
            batch_size=2000,
        )  # fmt: skip
        FollowUp.objects.bulk_create(
            [
                FollowUp(
                    ticket=t, body="Checked with the warehouse: it ships today.",
                    send_at=now + timedelta(hours=1),
                    created_by=agent,
                )
                for t in tickets
            ],
            batch_size=2000,
        )  # fmt: skip
    return {"subject": subject, "count": count}


def main(argv: list[str]) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    django.setup()
    if argv[1] == "setup":
        print(json.dumps(_bulk_setup(int(argv[2]), argv[3])))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
