"""Benchmark: the tickets CSV export at 1,000,000 tickets, streamed over HTTP from daphne.

The tickets come from bench/datagen.py (the inbox benchmark's seeded generator: one ticket every
30 s from 2025-01-01, so a million span about a year), COPYed into a throwaway Postgres with their
customers and tags. Supportdesk serves `GET /api/v1/exports/tickets.csv?from=&to=` (a manager's
bearer token) from `manage.py serve` in the production profile; this process reads the stream as
fast as it can and samples the server process's resident memory (/proc/<pid>/status VmRSS every
10 ms, and VmHWM after resetting it through /proc/<pid>/clear_refs) from before the request to the
last byte. Memory is flat when the 1M export grows the server by about what the ~100k one does.

References in the same run, same rows and columns (customer name, assignee email, tags joined):
    COPY (SELECT ...) TO STDOUT WITH CSV, read through psycopg: Postgres writing the CSV itself;
    csv.writer over a psycopg server-side cursor (2,000 rows a fetch), no Django, no HTTP.
Each reference runs in its own process, measured the same way (rows/s, RSS growth).

Full mode: ~100,000 rows (a month: `to=2025-02-04`) and every ticket (`from=2025-01-01&to=
2025-12-31`, 1,000,000 rows); quick mode: ~10,000 and 100,000 tickets.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench import datagen
from bench.common import ROOT, Table, row, services, start_daphne

FLAT_GROWTH_RATIO = 1.5  # the 1M export may grow the server by at most 1.5x the small one's
FLAT_SLACK_KIB = 8 * 1024  # ... or by 8 MiB more, whichever is larger (allocator noise)

REFERENCE_SQL = """
SELECT t.id, t.subject, t.status, t.priority, t.type, t.channel, t.customer_id, c.name,
       u.email,
       (SELECT string_agg(g.name, ' ' ORDER BY g.name) FROM tickets_ticket_tags tt
          JOIN tickets_tag g ON g.id = tt.tag_id WHERE tt.ticket_id = t.id),
       t.created_at, t.updated_at, t.solved_at, t.merged_into_id
FROM tickets_ticket t JOIN customers_customer c ON c.id = t.customer_id
LEFT JOIN accounts_user u ON u.id = t.assignee_id
WHERE t.status <> 'spam' AND t.created_at >= %(since)s AND t.created_at < %(until)s
ORDER BY t.id
"""


# --- memory --------------------------------------------------------------------------------------


def _status_kib(pid: int, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Sampler:
    """Peak VmRSS of a process sampled every 10 ms (and its VmHWM, reset at the start)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        self.baseline = _status_kib(pid, "VmRSS")
        self.peak = self.baseline
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop_flag.wait(0.01):
            self.peak = max(self.peak, _status_kib(self.pid, "VmRSS"))

    def stop(self) -> dict[str, int]:
        self.stop_flag.set()
        self.thread.join(2)
        hwm = _status_kib(self.pid, "VmHWM")
        peak = max(self.peak, hwm)
        return {"baseline_kib": self.baseline, "peak_kib": peak, "growth_kib": peak - self.baseline}


# --- loading -------------------------------------------------------------------------------------


def _load(env: dict[str, str], total: int) -> float:
    """Customers, tickets and their tags for `total` tickets, COPYed, indexes rebuilt after."""
    from bench.inbox import SD_BIG, Stream, _drop_indexes, _rebuild, _tag_trigger

    url = env["DATABASE_URL"]
    started = time.monotonic()
    setup = json.loads(
        subprocess.run(
            [sys.executable, "-m", "bench.inbox", "setup"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    agents = setup["agents"]
    tags = {int(k): v for k, v in setup["tags"].items()}
    people = Stream(
        url,
        "customers_customer",
        ("id", "name", "kind", "tier", "external_id", "notes", "created_at", "language"),
    )
    emails = Stream(url, "customers_customeremail", ("id", "customer_id", "address", "is_primary"))
    for c in datagen.customers(datagen.customer_count(total)):
        people.add(c.id, c.name, c.kind, c.tier, "", "", c.created_at, "")
        emails.add(c.id, c.id, c.email, True)
    people.close()
    emails.close()
    _rebuild(url, [], ("customers_customer", "customers_customeremail"))
    definitions = _drop_indexes(url, SD_BIG)
    tickets = Stream(
        url,
        "tickets_ticket",
        (
            "id", "subject", "status", "priority", "type", "channel", "customer_id",
            "assignee_id", "reference", "created_at", "updated_at", "last_message_at",
            "solved_at", "search_document", "status_before_spam", "last_message_preview",
        ),
    )  # fmt: skip
    # The link's copy of its ticket's status and activity comes with it (the trigger that reads
    # them from the ticket is off while the two tables load side by side).
    _tag_trigger(url, "DISABLE", ["tickets_tag_link_activity"])
    ticket_tags = Stream(
        url, "tickets_ticket_tags", ("id", "ticket_id", "tag_id", "status", "updated_at")
    )
    tag_row = 0
    for t in datagen.tickets(total):
        solved = t.updated_at if t.status in ("solved", "closed") else None
        tickets.add(
            t.id, t.subject, t.status, t.priority, t.type, t.channel, t.customer_id,
            None if t.assignee is None else agents[t.assignee], f"b{t.id:09x}",
            t.created_at, t.updated_at, t.updated_at, solved, t.subject, "",
            " ".join(t.body.split())[:160],
        )  # fmt: skip
        for tag in t.tag_ids:
            tag_row += 1
            ticket_tags.add(tag_row, t.id, tags[tag], t.status, t.updated_at)
    tickets.close()
    ticket_tags.close()
    _tag_trigger(url, "ENABLE", ["tickets_tag_link_activity"])
    _rebuild(url, definitions, SD_BIG)
    return time.monotonic() - started


# --- the measured exports ------------------------------------------------------------------------


def _export_over_http(url: str, token: str, pid: int, since: date, until: date) -> dict[str, Any]:
    import urllib3

    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=10, read=600))
    sampler = Sampler(pid)
    started = time.monotonic()
    response = http.request(
        "GET",
        f"{url}/api/v1/exports/tickets.csv?from={since.isoformat()}&to={until.isoformat()}",
        headers={"Authorization": f"Bearer {token}"},
        preload_content=False,
    )
    first_byte = None
    lines = 0
    size = 0
    tail = b""
    for chunk in response.stream(1 << 20):
        if first_byte is None:
            first_byte = time.monotonic() - started
        lines += chunk.count(b"\n")
        size += len(chunk)
        tail = (tail + chunk)[-4096:]
    elapsed = time.monotonic() - started
    memory = sampler.stop()
    response.release_conn()
    if response.status != 200:
        raise RuntimeError(f"export answered {response.status}: {tail[-500:]!r}")
    rows = lines - 1  # the header
    return {
        "rows": rows,
        "bytes": size,
        "seconds": elapsed,
        "rows_per_s": rows / elapsed,
        "first_byte_s": first_byte or elapsed,
        "last_line_ok": tail.endswith(b"\r\n"),
        **memory,
    }


def _reference(env: dict[str, str], kind: str, since: date, until: date) -> dict[str, Any]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.exports", kind, since.isoformat(), until.isoformat()],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    process.stdout.readline()  # "ready": imports done, connected; the baseline is that process
    sampler = Sampler(process.pid)
    process.stdin.write("go\n")
    process.stdin.flush()
    out, err = process.communicate(timeout=1800)
    memory = sampler.stop()
    if process.returncode != 0:
        raise RuntimeError(f"reference {kind} failed:\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    return {**result, "rows_per_s": result["rows"] / result["seconds"], **memory}


def _ready() -> None:
    """Tell the parent this process is loaded and connected; start when it says go."""
    print("ready", flush=True)
    sys.stdin.readline()


def _plain_copy(since: date, until: date) -> dict[str, Any]:
    import psycopg

    rows = 0
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cursor:
        _ready()
        started = time.monotonic()
        query = psycopg.ClientCursor(conn).mogrify(REFERENCE_SQL, {"since": since, "until": until})
        with cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
            for chunk in copy:
                rows += bytes(chunk).count(b"\n")
        elapsed = time.monotonic() - started
    return {"rows": rows - 1, "seconds": elapsed}


def _plain_csv_writer(since: date, until: date) -> dict[str, Any]:
    import csv

    import psycopg

    class Null:
        def write(self, value: str) -> int:
            return len(value)

    writer = csv.writer(Null())
    rows = 0
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        _ready()
        started = time.monotonic()
        with conn.cursor(name="export") as cursor:
            cursor.itersize = 2000
            cursor.execute(REFERENCE_SQL, {"since": since, "until": until})
            writer.writerow([d.name for d in cursor.description or []])
            for record in cursor:
                writer.writerow(record)
                rows += 1
        elapsed = time.monotonic() - started
    return {"rows": rows, "seconds": elapsed}


def _manager_token(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bench.exports", "manager"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])["token"]


def run(quick: bool) -> list[dict[str, Any]]:
    total = 100_000 if quick else 1_000_000
    start = datagen.START.date()
    small_until = start + timedelta(days=3 if quick else 34)  # ~10k / ~100k tickets
    windows = [(start, small_until), (start, date(start.year, 12, 31))]
    results: dict[str, list[dict[str, Any]]] = {"ours": [], "copy": [], "csv": []}
    with services() as env:
        load_s = _load(env, total)
        print(f"  loaded {total:,} tickets in {load_s:.0f}s", flush=True)
        token = _manager_token(env)
        server = start_daphne(env)
        _export_over_http(server.url, token, server.pid, start, start)  # warm: imports, plans
        for since, until in windows:
            ours = _export_over_http(server.url, token, server.pid, since, until)
            print(
                f"  export {ours['rows']:,} rows: {ours['rows_per_s']:,.0f} rows/s, server grew "
                f"{ours['growth_kib'] / 1024:,.1f} MiB (first byte {ours['first_byte_s']:.2f}s)",
                flush=True,
            )
            results["ours"].append(ours)
            for kind in ("copy", "csv"):
                ref = _reference(env, kind, since, until + timedelta(days=1))
                print(
                    f"  reference {kind}: {ref['rows']:,} rows, {ref['rows_per_s']:,.0f} rows/s, "
                    f"grew {ref['growth_kib'] / 1024:,.1f} MiB",
                    flush=True,
                )
                results[kind].append(ref)
        server.stop()
    small, big = results["ours"]
    flat = big["growth_kib"] <= max(
        small["growth_kib"] * FLAT_GROWTH_RATIO, small["growth_kib"] + FLAT_SLACK_KIB
    )
    rows: list[dict[str, Any]] = []
    for index, ours in enumerate(results["ours"]):
        copy, plain = results["copy"][index], results["csv"][index]
        rows.append(
            row(
                f"tickets.csv over HTTP, {ours['rows']:,} rows (rows/s; ratio to csv.writer)",
                unit="rows/s",
                value=ours["rows_per_s"],
                throughput=ours["rows_per_s"],
                reference=plain["rows_per_s"],
                target="flat memory" if index else "",
                met=flat if index else None,
                **{k: v for k, v in ours.items() if k != "rows_per_s"},
            )
        )
        rows.append(
            row(
                f"  server RSS growth, {ours['rows']:,} rows (MiB)",
                unit="MiB",
                value=ours["growth_kib"] / 1024,
                reference=small["growth_kib"] / 1024 if index else None,
                target=f"<= {FLAT_GROWTH_RATIO}x the small export" if index else "",
                met=flat if index else None,
            )
        )
        for name, ref in (("COPY TO STDOUT", copy), ("csv.writer + server-side cursor", plain)):
            rows.append(
                row(
                    f"  reference {name}, {ref['rows']:,} rows (rows/s; RSS growth "
                    f"{ref['growth_kib'] / 1024:,.1f} MiB)",
                    unit="rows/s",
                    value=ref["rows_per_s"],
                    throughput=ref["rows_per_s"],
                    **{k: v for k, v in ref.items() if k != "rows_per_s"},
                )
            )
    rows.append(row(f"load {total:,} tickets: {load_s:.0f}s", unit="s", value=load_s))
    Table("exports").print(rows)
    return rows


def _make_manager() -> dict[str, str]:
    from accounts.models import User
    from accounts.services import issue_api_token

    user = User.objects.create_user(
        "exports@bench.supportdesk", password="bench-pass-2026", name="Mia Manager", role="manager"
    )
    return {"token": issue_api_token(user)}


def main(argv: list[str]) -> int:
    if argv[1] in ("copy", "csv"):
        since, until = date.fromisoformat(argv[2]), date.fromisoformat(argv[3])
        work = _plain_copy if argv[1] == "copy" else _plain_csv_writer
        print(json.dumps(work(since, until)))
        return 0
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    django.setup()
    if argv[1] == "manager":
        print(json.dumps(_make_manager()))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
