"""API tokens: named, scoped, expiring, revocable by their owner and admins, last use shown, only
hashes stored; scopes are enforced by the API's auth layer."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, hash_token
from accounts.services import issue_api_token
from tests import factories


def _client(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def _grant(client: Client, order) -> object:
    body = {
        "kind": "refund",
        "customer_email": order.customer.primary_email,
        "order_external_id": order.external_id,
        "amount": "5.00",
        "reason": "Late parcel",
    }
    return client.post(
        "/api/v1/wow/grants",
        json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )


def test_the_command_names_scopes_and_expires_a_token_and_prints_it_last(db, cast):
    out = StringIO()
    call_command(
        "issue_api_token", cast.alice.email, "--name", "shop reader", "--scope", "read",
        "--expires", "2099-01-31", stdout=out,
    )  # fmt: skip
    raw = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(digest=hash_token(raw))
    assert (token.name, token.scopes) == ("shop reader", ["read"])
    assert token.expires_at.date().isoformat() == "2099-01-31"
    assert raw not in (token.digest, token.prefix, token.name)
    with pytest.raises(CommandError, match="admin"):
        call_command("issue_api_token", cast.alice.email, "--scope", "admin", stdout=StringIO())


def test_scopes_are_enforced_by_the_api(db, cast):
    order = factories.OrderFactory(total=Decimal("80.00"))
    reader = _client(issue_api_token(cast.alice, name="r", scopes=["read"]))
    writer = _client(issue_api_token(cast.alice, name="w", scopes=["read", "write"]))
    granter = _client(issue_api_token(cast.alice, name="g", scopes=["grants"]))

    assert reader.get("/api/v1/tickets").status_code == 200
    refused = reader.post(
        "/api/v1/tickets",
        {"subject": "Hi", "body": "x", "customer": {"email": "a@b.example", "name": "A"}},
        content_type="application/json",
    )
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    assert _grant(writer, order).status_code == 403  # write is not grants
    assert _grant(granter, order).status_code == 201
    assert granter.get("/api/v1/tickets").status_code == 403  # grants is not read


def test_an_admins_token_without_the_admin_scope_acts_as_a_manager(db, cast):
    customer = factories.CustomerFactory()
    limited = _client(issue_api_token(cast.dave, name="ops", scopes=["read", "write"]))
    full = _client(issue_api_token(cast.dave, name="root"))

    assert limited.post(f"/api/v1/customers/{customer.pk}/erase").status_code == 403
    assert limited.get(f"/api/v1/customers/{customer.pk}/export").status_code == 200  # manager
    assert full.post(f"/api/v1/customers/{customer.pk}/erase").status_code == 200
    cast.dave.refresh_from_db()
    assert cast.dave.role == "admin"  # the capped role was never saved


def test_an_expired_or_revoked_token_answers_401_and_last_use_is_shown(db, cast):
    raw = issue_api_token(cast.alice, name="laptop", expires_at=timezone.now() + timedelta(days=1))
    client = _client(raw)
    assert client.get("/api/v1/tickets").status_code == 200
    token = ApiToken.objects.get(digest=hash_token(raw))
    assert token.last_used_at is not None

    page = Client()
    page.force_login(cast.alice)
    html = page.get("/tokens/").content.decode()
    assert (
        "laptop" in html and token.prefix in html and "never" not in html.split("laptop")[1][:400]
    )

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert client.get("/api/v1/tickets").status_code == 401
    other = _client(issue_api_token(cast.alice, name="script"))
    script = ApiToken.objects.get(name="script")
    # Only the owner or an admin revokes: bob gets 404, alice revokes it.
    bob = _client(issue_api_token(cast.bob))
    assert bob.post(f"/api/v1/tokens/{script.pk}/revoke").status_code == 404
    assert page.post(f"/tokens/{script.pk}/revoke/").status_code == 302
    assert other.get("/api/v1/tickets").status_code == 401


def test_owners_see_their_tokens_and_admins_see_and_revoke_everyones(db, cast):
    issue_api_token(cast.alice, name="alice's")
    issue_api_token(cast.bob, name="bob's")
    alice = _client(issue_api_token(cast.alice, name="alice api"))
    admin = _client(issue_api_token(cast.dave, name="dave api"))

    mine = {t["name"] for t in alice.get("/api/v1/tokens").json()["items"]}
    everyone = {t["name"] for t in admin.get("/api/v1/tokens").json()["items"]}

    assert mine == {"alice's", "alice api"}
    assert {"alice's", "bob's", "dave api"} <= everyone
    bobs = ApiToken.objects.get(name="bob's")
    revoked = admin.post(f"/api/v1/tokens/{bobs.pk}/revoke").json()
    assert revoked["active"] is False and revoked["revoked_at"]
    assert "digest" not in revoked and "token" not in revoked


def test_the_page_creates_a_named_scoped_token_and_shows_it_once(db, cast, settings):
    settings.SUPPORTDESK_REQUIRE_2FA = False
    client = Client()
    # A fresh password login: a person without a factor confirms with the password.
    client.post("/login/", {"username": cast.alice.email, "password": cast.password})
    client.post("/accounts/reauthenticate/?next=/tokens/", {"password": cast.password})

    response = client.post(
        "/tokens/new/", {"name": "Zapier", "scopes": ["read", "write"], "expires": "2099-12-31"}
    )

    assert response.status_code == 302
    shown = client.get("/tokens/").content.decode()
    raw = shown.split('id="new-token">')[1].split("<")[0]
    token = ApiToken.objects.get(digest=hash_token(raw))
    assert (token.name, token.scopes, token.created_by) == ("Zapier", ["read", "write"], cast.alice)
    assert 'id="new-token"' not in client.get("/tokens/").content.decode()  # once
