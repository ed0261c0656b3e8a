"""Issue 14's "done when": the audit log shows every change of a scripted session. A manager logs
in, opens a ticket, changes it, replies, grants a refund and undoes it, renames the customer,
makes an API token and logs out; the log lists each step in order, with who, from where, what
and the changed fields, and nothing of the message bodies or the customer's name."""

from __future__ import annotations

import json

from django.test import Client

from accounts.services import issue_api_token
from customers.models import Customer
from tests import factories


def _json(client: Client, method: str, path: str, body: dict, **headers: str):
    response = client.generic(
        method, path, json.dumps(body), content_type="application/json", **headers
    )
    assert response.status_code in (200, 201), (path, response.content[:300])
    return response.json()


def test_every_change_of_a_scripted_session_is_in_the_log_in_order(cast, settings):
    settings.SUPPORTDESK_REQUIRE_2FA = False
    session = Client(HTTP_USER_AGENT="scripted-session/1", REMOTE_ADDR="198.51.100.7")
    assert (
        session.post("/login/", {"username": cast.carol.email, "password": "nope"}).status_code
        == 200
    )
    assert (
        session.post(
            "/login/", {"username": cast.carol.email, "password": cast.password}
        ).status_code
        == 302
    )
    ticket = _json(
        session,
        "POST",
        "/api/v1/tickets",
        {
            "subject": "Broken zip",
            "body": "The zipper broke on day one",
            "customer": {"email": "rita@example.com", "name": "Rita Roe"},
        },
    )
    _json(
        session,
        "PATCH",
        f"/api/v1/tickets/{ticket['id']}",
        {"status": "pending", "priority": "high"},
    )
    _json(
        session,
        "POST",
        f"/api/v1/tickets/{ticket['id']}/replies",
        {"body": "A new jacket is on its way, card 4242 not needed"},
    )
    rita = Customer.objects.get(emails__address="rita@example.com")
    order = factories.OrderFactory(customer=rita)
    grant = _json(
        session,
        "POST",
        "/api/v1/wow/grants",
        {
            "kind": "refund",
            "order_external_id": order.external_id,
            "amount": "15.00",
            "reason": "zip",
        },
        HTTP_IDEMPOTENCY_KEY="scripted-1",
    )
    _json(session, "POST", f"/api/v1/wow/grants/{grant['id']}/undo", {})
    _json(session, "PATCH", f"/api/v1/customers/{rita.pk}", {"name": "Rita R."})
    session.post("/accounts/reauthenticate/", {"password": cast.password})
    _json(session, "POST", "/api/v1/tokens", {"name": "script", "scopes": ["read"]})
    assert session.post("/logout/").status_code == 302

    auditor = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.dave)}")
    items = auditor.get("/api/v1/audit?limit=200").json()["items"]
    mine = [
        i
        for i in reversed(items)
        if i["actor"] == cast.carol.email or (i["action"] == "auth.login_failed")
    ]
    actions = [i["action"] for i in mine]
    expected = [
        "auth.login_failed",
        "auth.login",
        "ticket.created",
        "ticket.updated",
        "message.created",
        "grant.created",
        "grant.undone",
        "customer.updated",
        "token.created",
        "auth.logout",
    ]
    steps = iter(actions)
    assert all(step in steps for step in expected), actions  # each, in this order
    by_action = {i["action"]: i for i in mine}
    for action in expected[1:]:
        entry = by_action[action]
        assert entry["ip"] == "198.51.100.7", entry
        assert entry["actor"] == cast.carol.email, entry
    assert by_action["ticket.updated"]["detail"]["changes"]["status"] == ["new", "pending"]
    # A customer's name is personal data: the change is logged, its values are not.
    assert by_action["customer.updated"]["detail"]["changes"]["name"] == ["[personal]"] * 2
    assert by_action["grant.undone"]["object_id"] == str(grant["id"])
    logged = json.dumps(items)
    assert "4242" not in logged and "zipper broke" not in logged and "Rita" not in logged
