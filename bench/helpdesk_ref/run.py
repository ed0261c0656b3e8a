"""The django-helpdesk side of the inbox benchmark; runs in bench/.venv-helpdesk, prints JSON.

    HELPDESK_DATABASE_URL=postgres://... bench/.venv-helpdesk/bin/python bench/helpdesk_ref/run.py setup
    ... run.py measure '<json plan>'

`setup` migrates and creates the agents (staff users) and queues, printing their ids; the tickets
themselves are COPYed in by bench/inbox.py from the same generator as Supportdesk's. `measure`
times the ticket list the way a browser loads it: the page (/tickets/) plus the datatables JSON it
fetches for the rows, both through Django's test client, with the SQL queries of each counted.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_ref.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

# The datatables column "created", newest first (what a desk wants to see first).
ORDER = {"order[0][column]": "5", "order[0][dir]": "desc"}


def setup(agent_emails: list[str], queues: list[str]) -> dict[str, object]:
    from django.contrib.auth import get_user_model
    from helpdesk.models import Queue

    call_command("migrate", verbosity=0, interactive=False)
    user_model = get_user_model()
    agent_ids = []
    for email in agent_emails:
        user = user_model.objects.create_user(
            username=email.split("@")[0], email=email, password="bench-pass", is_staff=True
        )
        agent_ids.append(user.pk)
    queue_ids = [
        Queue.objects.create(
            title=title.title(), slug=title, email_address=f"{title}@bench.helpdesk"
        ).pk
        for title in queues
    ]
    return {"agents": agent_ids, "queues": queue_ids}


def _request(client: Client, path: str, params: dict[str, str]) -> tuple[float, int, int]:
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        response = client.get(path, params)
        elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} {params}: {response.status_code}")
    return elapsed, len(queries), len(response.content)


def measure(plan: dict) -> dict[str, object]:
    from django.contrib.auth import get_user_model
    from helpdesk.query import query_to_base64

    connection.force_debug_cursor = False
    client = Client()
    client.force_login(get_user_model().objects.get(email=plan["agent_email"]))
    results: dict[str, object] = {}
    for case in plan["cases"]:
        # What ticket_list() puts in the page for these filters, and the datatables call it makes.
        query = query_to_base64(case["query_params"])
        table_params = {"draw": "1", "start": str(case.get("start", 0)), "length": "50", **ORDER}
        samples, counts, sizes = [], [], []
        for index in range(case["warmup"] + case["samples"]):
            page_ms, page_queries, page_bytes = _request(client, "/tickets/", case["page_params"])
            data_ms, data_queries, data_bytes = _request(
                client, f"/datatables_ticket_list/{query}", table_params
            )
            if index >= case["warmup"]:
                samples.append(page_ms + data_ms)
                counts.append(page_queries + data_queries)
                sizes.append(page_bytes + data_bytes)
        results[case["name"]] = {"ms": samples, "queries": max(counts), "bytes": max(sizes)}
    return results


def main(argv: list[str]) -> int:
    if argv[1] == "setup":
        args = json.loads(argv[2])
        print(json.dumps(setup(args["agents"], args["queues"])))
    elif argv[1] == "measure":
        print(json.dumps(measure(json.loads(argv[2]))))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
