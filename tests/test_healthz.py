from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.live
def test_healthz_reports_database_layer_and_broker_and_503_while_redis_is_down(
    live_server, redis_server
):
    status, body = _get(f"{live_server.url}/healthz")
    assert status == 200, body
    assert set(body["checks"]) == {"database", "channel_layer", "broker", "file_descriptors"}
    assert all(check["ok"] for check in body["checks"].values())

    redis_server.stop()
    try:
        status, body = _get(f"{live_server.url}/healthz")
        assert status == 503
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["broker"]["ok"] is False
    finally:
        redis_server.start()

    # Recovery needs no manual step: within a few seconds every check is green again.
    deadline = time.monotonic() + 15
    while (status := _get(f"{live_server.url}/healthz")[0]) != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status == 200, _get(f"{live_server.url}/healthz")[1]
