"""Finding 2: what a customer paid is the shop's word. Only an integration token may sync orders;
a person's token gets 403 and changes nothing; a refund's ceiling is what the shop reported."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.services import issue_api_token
from customers.models import IntegrationToken, Order
from customers.services import revoke_shop_token
from tests import factories
from wow_credits import services as grant_services
from wow_credits.services import GrantError


def forged_order(order) -> dict:
    """What the outside review sent: a huge total, another customer, a new address."""
    return {
        "external_id": order.external_id,
        "customer": {"email": "mallory@example.com", "name": "Mallory"},
        "total": "9999999999.99",
        "shipping": {"address": "1 Evil Lane"},
    }


@pytest.fixture
def order(db):
    order = factories.OrderFactory(total=Decimal("120.00"))
    factories.ShipmentFactory(order=order, address="12 Chapel Rd")
    return order


@pytest.mark.parametrize("who", ["agent", "trainee", "admin"])
def test_a_persons_token_gets_403_and_changes_nothing(cast, order, who):
    user = {
        "agent": cast.alice,
        "trainee": factories.AgentFactory(is_trainee=True),
        "admin": cast.dave,
    }[who]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(user)}")
    response = client.post("/api/v1/orders", forged_order(order), content_type="application/json")
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "shop_token_required"
    order.refresh_from_db()
    assert order.total == Decimal("120.00")
    assert order.customer.primary_email != "mallory@example.com"
    assert order.shipments.get().address == "12 Chapel Rd"


def test_an_agents_session_gets_403_too(cast, order):
    client = Client(enforce_csrf_checks=False)
    client.force_login(cast.alice)
    response = client.post("/api/v1/orders", forged_order(order), content_type="application/json")
    assert response.status_code == 403


def test_no_credentials_is_401(db, order):
    response = Client().post("/api/v1/orders", forged_order(order), content_type="application/json")
    assert response.status_code == 401


def test_issue_shop_token_prints_a_working_token_as_its_last_line(db, order):
    out = StringIO()
    call_command("issue_shop_token", "shopify-main", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert raw.startswith("sdshop_")
    token = IntegrationToken.objects.get(name="shopify-main")
    assert token.digest != raw and raw not in token.digest  # only the hash is stored
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = {**forged_order(order), "total": "150.00"}
    response = client.post("/api/v1/orders", body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert Order.objects.get(pk=order.pk).total == Decimal("150.00")
    from audit.models import AuditEntry

    entry = AuditEntry.objects.get(action="order.synced")
    assert entry.token_prefix == raw[:12] and entry.actor == f"token {raw[:12]}"
    assert entry.detail["changes"]["total"] == ["120.00", "150.00"]


def test_a_revoked_shop_token_is_401(db, order, shop_token):
    revoke_shop_token(IntegrationToken.objects.get())
    client = Client(HTTP_AUTHORIZATION=f"Bearer {shop_token}")
    response = client.post("/api/v1/orders", forged_order(order), content_type="application/json")
    assert response.status_code == 401


def test_a_shop_token_is_not_a_persons_token(db, shop_client):
    assert shop_client.get("/api/v1/tickets").status_code == 401


def test_a_refund_ceiling_is_what_the_shop_reported_paid(cast, order):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.alice)}")
    client.post("/api/v1/orders", forged_order(order), content_type="application/json")
    with pytest.raises(GrantError) as refused:
        grant_services.grant(
            "refund",
            by=cast.alice,
            order=order,
            amount="9999999999.99",
            reason="raised the total first",
            idempotency_key="r1",
        )
    assert refused.value.code == "amount_exceeds_refundable"
    assert "120.00" in str(refused.value)
    response = client.post(
        "/api/v1/wow/grants",
        json.dumps(
            {
                "kind": "refund",
                "customer_email": order.customer.primary_email,
                "order_external_id": order.external_id,
                "amount": "9999999999.99",
                "reason": "raised the total first",
            }
        ),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="r2",
    )
    assert response.status_code == 422
