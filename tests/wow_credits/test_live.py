"""The grant API on a real daphne server, with parallel requests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from accounts.services import issue_api_token
from tests import factories
from wow_credits.models import Grant


def _post(url: str, token: str, key: str, body: dict) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_parallel_refund_requests_never_exceed_the_paid_amount(live_server):
    agents = [factories.AgentFactory() for _ in range(4)]
    tokens = [issue_api_token(a) for a in agents]
    order = factories.OrderFactory(total=Decimal("100.00"))
    body = {
        "kind": "refund",
        "order_external_id": order.external_id,
        "amount": "40",
        "reason": "Arrived late",
    }
    url = f"{live_server.url}/api/v1/wow/grants"
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: _post(url, tokens[i % 4], f"k{i}", body), range(8)))
    assert sorted(statuses) == [201, 201] + [422] * 6, live_server.log()
    assert sum(g.amount for g in Grant.objects.filter(order=order)) == Decimal("80.00")
