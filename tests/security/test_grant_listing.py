"""Decided (issue 14, "also seen"): any agent could list every grant with amounts through the
API while the reports are manager-only. Now agents list one customer's grants (the guardrails
beside the grant button) or their own; everyone's grants are for managers and admins."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client

from accounts.services import issue_api_token
from tests import factories
from wow_credits import services as grants


def _as(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(user)}")


def test_agents_list_one_customers_or_their_own_grants_managers_everyones(cast):
    order = factories.OrderFactory(total=Decimal("80.00"))
    mine, _ = grants.grant(
        "refund", by=cast.alice, order=order, amount="5", reason="late", idempotency_key="g1"
    )
    theirs, _ = grants.grant(
        "refund", by=cast.bob, order=order, amount="7", reason="late", idempotency_key="g2"
    )
    alice = _as(cast.alice)

    everyone = alice.get("/api/v1/wow/grants")
    assert everyone.status_code == 403 and everyone.json()["code"] == "managers_only"
    bobs = alice.get(f"/api/v1/wow/grants?agent={cast.bob.email}")
    assert bobs.status_code == 403 and bobs.json()["code"] == "managers_only"
    own = alice.get(f"/api/v1/wow/grants?agent={cast.alice.pk}").json()["items"]
    assert [g["id"] for g in own] == [mine.pk]
    customer = alice.get(f"/api/v1/wow/grants?customer={order.customer_id}").json()["items"]
    assert {g["id"] for g in customer} == {mine.pk, theirs.pk}
    managers = _as(cast.carol).get("/api/v1/wow/grants").json()["items"]
    assert {g["id"] for g in managers} == {mine.pk, theirs.pk}
