"""Page benchmarks: the widget script's size, and the agent inbox in headless Chromium.

- Widget: static/widget.js as a site embeds it, gzipped (level 9, what a CDN or nginx sends).
- Inbox: with 10,000 tickets in Postgres, an agent who is logged in opens /inbox/ in Chromium
  (Playwright, /usr/bin/chromium, the flags of tests/conftest.py). Page weight is every byte the
  browser received for the page (HTML, CSS, JS, images; compressed size when compressed), and
  time to interactive is navigation start to the `load` event with the network quiet (no request
  for 500 ms), the median of several cold loads (cache disabled, a new browser context each).
"""

from __future__ import annotations

import gzip
import shutil
import statistics
import time
from typing import Any

from bench.common import ROOT, manage, percentiles, row, services, start_daphne

TICKETS = 10_000
AGENT_EMAIL = "bench-pages@example.com"
PASSWORD = "bench-pages-password-1"
# The same flags as tests/conftest.py: no sandbox (root in CI), no GPU, no background traffic.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

SEED_SCRIPT = """
import random
from datetime import timedelta
from django.utils import timezone
from accounts.models import User
from customers.models import Customer
from tickets.models import Message, Ticket

rng = random.Random(11)
count = {count}
agents = list(User.objects.filter(is_active=True))
customers = Customer.objects.bulk_create(
    [Customer(name=f"Customer {{i}}") for i in range(count // 5)], batch_size=2000
)
words = "order refund delivery parcel invoice size colour broken late address voucher".split()
statuses = ["new", "open", "open", "pending", "solved"]
now = timezone.now()
tickets = []
for i in range(count):
    at = now - timedelta(minutes=3 * (count - i))
    tickets.append(Ticket(
        subject=" ".join(rng.choice(words) for _ in range(6)).capitalize(),
        status=rng.choice(statuses),
        customer=customers[i % len(customers)],
        assignee=rng.choice(agents + [None]),
        created_at=at, updated_at=at, last_message_at=at,
    ))
tickets = Ticket.objects.bulk_create(tickets, batch_size=2000)
Message.objects.bulk_create(
    [Message(ticket=t, author_type="customer", body_text=t.subject + ". Please help.",
             created_at=t.created_at) for t in tickets],
    batch_size=2000,
)
print(Ticket.objects.count())
"""


def widget_rows() -> list[dict[str, Any]]:
    raw = (ROOT / "static" / "widget.js").read_bytes()
    zipped = len(gzip.compress(raw, compresslevel=9)) / 1024
    return [
        row(
            "widget.js gzipped",
            unit="KB",
            value=zipped,
            target="< 15 KB",
            met=zipped < 15,
            raw_kb=round(len(raw) / 1024, 1),
        )
        | {"median": zipped}
    ]


def _measure_inbox(url: str, runs: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    weights: list[float] = []
    times: list[float] = []
    requests: list[int] = []
    links: list[int] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            login = browser.new_context()
            page = login.new_page()
            page.goto(f"{url}/login/")
            page.fill("input[name=username]", AGENT_EMAIL)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(lambda u: "/login/" not in u)
            state = login.storage_state()
            login.close()
            for index in range(runs + 1):  # the first load warms the server, not counted
                context = browser.new_context(
                    storage_state=state, viewport={"width": 1280, "height": 900}
                )
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
                received: dict[str, int] = {}
                cdp.on(
                    "Network.loadingFinished",
                    lambda event, received=received: received.__setitem__(
                        event["requestId"], int(event["encodedDataLength"])
                    ),
                )
                started = time.perf_counter()
                page.goto(f"{url}/inbox/", wait_until="load", timeout=60_000)
                page.wait_for_load_state("networkidle", timeout=60_000)
                # networkidle waits 500 ms of quiet after the last request; that quiet is not
                # part of the page's time, so the last response's end is used instead.
                timing = page.evaluate(
                    "() => { const n = performance.getEntriesByType('navigation')[0];"
                    " const last = Math.max(n.loadEventEnd, ...performance.getEntriesByType("
                    "'resource').map(r => r.responseEnd)); return last; }"
                )
                elapsed = time.perf_counter() - started
                shown = page.locator("a[href*='/tickets/']").count()
                if shown == 0:
                    raise RuntimeError("the inbox shows no tickets; the benchmark measured nothing")
                if index > 0:
                    times.append(float(timing) if timing else elapsed * 1000)
                    weights.append(sum(received.values()) / 1024)
                    requests.append(len(received))
                    links.append(shown)
                context.close()
        finally:
            browser.close()
    return {"times": times, "weights": weights, "requests": requests, "links": links}


def inbox_rows(quick: bool) -> list[dict[str, Any]]:
    runs = 3 if quick else 7
    with services() as env:
        manage(env, "create_agent", AGENT_EMAIL, "--password", PASSWORD, "--name", "Pages Agent")
        for n in range(3):
            manage(env, "create_agent", f"bench-pages-{n}@example.com", "--name", f"Agent {n}")
        manage(env, "shell", "-c", SEED_SCRIPT.format(count=TICKETS))
        server = start_daphne(env)
        try:
            result = _measure_inbox(server.url, runs)
        finally:
            server.stop()
    weight = statistics.median(result["weights"])
    return [
        row(
            f"inbox time to interactive ({TICKETS:,} tickets)",
            percentiles(result["times"]),
            unit="ms",
            value=statistics.median(result["times"]),
            runs=runs,
        ),
        row(
            f"inbox page weight ({TICKETS:,} tickets)",
            unit="KB",
            value=weight,
            requests=statistics.median(result["requests"]),
            ticket_links=statistics.median(result["links"]),
        )
        | {"median": weight},
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    return widget_rows() + inbox_rows(quick)


if __name__ == "__main__":
    import sys

    from bench.common import Table

    Table("pages").print(run("--quick" in sys.argv))
