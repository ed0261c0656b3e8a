"""Findings 5 and 10: every grant kind has company limits per grant and per customer per period
(422 over them, shown in the dialog), and a grant's details are validated when it is made."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from accounts.services import issue_api_token
from tests import factories
from wow_credits import services
from wow_credits.models import Grant


@pytest.fixture
def trainee(db):
    return factories.AgentFactory(email="tess@example.com", is_trainee=True)


@pytest.fixture
def client(trainee):
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(trainee)}")


def post_grant(client, key: str, **body):
    return client.post(
        "/api/v1/wow/grants",
        json.dumps({"reason": "Out of stock", **body}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


@pytest.mark.parametrize("kind", ["rebate", "discount_code"])
def test_a_trainees_huge_rebate_or_code_is_422(client, kind):
    customer = factories.CustomerFactory()
    response = post_grant(
        client, "k1", kind=kind, customer_email=customer.primary_email, amount="9999999999.99"
    )
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "limit_exceeded"
    assert "100" in response.json()["detail"]
    assert not Grant.objects.exists()


def test_per_customer_period_total_is_enforced_and_undone_grants_do_not_count(trainee, settings):
    settings.SUPPORTDESK_GRANT_LIMITS = {
        **settings.SUPPORTDESK_GRANT_LIMITS,
        "rebate": ("50", "80", 5),
    }
    customer = factories.CustomerFactory()

    def rebate(amount: str, key: str):
        return services.grant(
            "rebate", by=trainee, customer=customer, amount=amount, reason="r", idempotency_key=key
        )[0]

    first = rebate("50", "a")
    with pytest.raises(services.GrantError) as refused:
        rebate("40", "b")
    assert refused.value.code == "limit_exceeded" and "30.00" in str(refused.value)
    services.undo_grant(first, by=trainee)
    rebate("40", "c")  # the undone 50 no longer counts
    other = factories.CustomerFactory()
    services.grant(
        "rebate", by=trainee, customer=other, amount="50", reason="r", idempotency_key="d"
    )


def test_kinds_without_an_amount_are_limited_by_count(trainee, settings):
    customer = factories.CustomerFactory()
    services.grant("vip_upgrade", by=trainee, customer=customer, reason="r", idempotency_key="v1")
    with pytest.raises(services.GrantError) as refused:
        services.grant(
            "vip_upgrade", by=trainee, customer=customer, reason="r", idempotency_key="v2"
        )
    assert refused.value.code == "limit_exceeded"


def test_a_refund_above_the_per_grant_limit_is_422_even_if_paid(trainee, settings):
    settings.SUPPORTDESK_GRANT_LIMITS = {
        **settings.SUPPORTDESK_GRANT_LIMITS,
        "refund": ("100", "500", 10),
    }
    order = factories.OrderFactory(total=Decimal("300.00"))
    with pytest.raises(services.GrantError) as refused:
        services.grant("refund", by=trainee, order=order, reason="r", idempotency_key="full")
    assert refused.value.code == "limit_exceeded"
    services.grant("refund", by=trainee, order=order, amount="100", reason="r", idempotency_key="p")


def test_the_dialog_shows_the_limits(cast):
    customer = factories.CustomerFactory()
    client = Client()
    client.force_login(cast.alice)
    page = client.get(f"/wow/grant?customer_id={customer.pk}").content.decode()
    assert "Company limits" in page
    assert "Rebate: up to 100 per grant, 300 per customer in 30 days" in page
    assert "at most 50%" in page


@pytest.mark.parametrize(
    ("details", "code"),
    [
        ({"expires_in_days": 10**9}, "invalid_expires_in_days"),
        ({"expires_in_days": "abc"}, "invalid_expires_in_days"),
        ({"expires_in_days": -30}, "invalid_expires_in_days"),
        ({"expires_in_days": True}, "invalid_expires_in_days"),
        ({"percent": 101}, "invalid_percent"),
        ({"percent": "20"}, "invalid_percent"),
        ({"percent": 90}, "limit_exceeded"),
        ({"address": ["x"]}, "invalid_address"),
        ({"nested": {"a": {"b": {"c": 1}}}}, "invalid_details"),
        ({"blob": "x" * 5000}, "invalid_details"),
    ],
)
def test_grant_details_are_validated_at_creation(client, details, code):
    customer = factories.CustomerFactory()
    response = post_grant(
        client,
        "d1",
        kind="discount_code",
        customer_email=customer.primary_email,
        amount="10",
        details=details,
    )
    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert not Grant.objects.exists()


def test_valid_details_are_kept(client):
    customer = factories.CustomerFactory()
    response = post_grant(
        client,
        "ok",
        kind="discount_code",
        customer_email=customer.primary_email,
        details={"percent": 20, "expires_in_days": 30},
    )
    assert response.status_code == 201, response.content
    assert Grant.objects.get().details == {"percent": 20, "expires_in_days": 30}
