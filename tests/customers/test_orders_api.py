from __future__ import annotations

import pytest

from customers.models import Customer, Order

pytestmark = pytest.mark.django_db

ORDER = {
    "external_id": "SHOP-1001",
    "customer": {"email": "groomsman@example.com", "name": "Sam Best"},
    "items": [{"name": "Oxford shoes, size 10", "quantity": 1, "price": "180.00", "sku": "OX-10"}],
    "total": "180.00",
    "currency": "usd",
    "status": "paid",
    "shipping": {
        "method": "standard",
        "address": "1 Chapel Rd",
        "carrier": "UPS",
        "tracking": "1Z999",
        "status": "in_transit",
        "promised_by": "2026-11-24T18:00:00Z",
    },
    "placed_at": "2026-11-20T10:00:00Z",
}


def test_post_order_creates_then_updates_by_external_id(shop_client, api_client):
    created = shop_client.post("/api/v1/orders", ORDER, content_type="application/json")
    updated = shop_client.post(
        "/api/v1/orders",
        {**ORDER, "shipping": {**ORDER["shipping"], "status": "late"}},
        content_type="application/json",
    )

    assert created.status_code == 201 and updated.status_code == 200
    assert Order.objects.count() == 1
    order = Order.objects.get()
    assert order.currency == "USD"
    assert [s.status for s in order.shipments.all()] == ["late"]
    assert updated.json()["items"][0]["name"] == "Oxford shoes, size 10"


def test_get_customer_shows_emails_orders_and_tickets(shop_client, api_client):
    shop_client.post("/api/v1/orders", ORDER, content_type="application/json")
    customer = Customer.objects.get()

    body = api_client.get(f"/api/v1/customers/{customer.pk}").json()

    assert body["emails"] == ["groomsman@example.com"]
    assert body["orders"][0]["shipments"][0]["tracking"] == "1Z999"


@pytest.mark.parametrize(
    "change",
    [
        {"total": "-1"},
        {"total": "abc"},
        {"currency": "DOLLARS"},
        {"customer": {"email": "not-an-email"}},
        {"external_id": ""},
    ],
)
def test_bad_orders_are_422_and_store_nothing(shop_client, api_client, change):
    response = shop_client.post(
        "/api/v1/orders", {**ORDER, **change}, content_type="application/json"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert Order.objects.count() == 0


def test_orders_api_needs_a_token(client):
    assert client.post("/api/v1/orders", ORDER, content_type="application/json").status_code == 401


@pytest.mark.parametrize("problem", ["payment", "address", "other"])
def test_the_shop_reports_a_problem_on_an_order(shop_client, api_client, problem):
    response = shop_client.post(
        "/api/v1/orders",
        {**ORDER, "problem": problem, "problem_detail": "Card declined at capture"},
        content_type="application/json",
    )

    assert response.status_code == 201
    assert response.json()["problem"] == problem
    assert response.json()["problem_detail"] == "Card declined at capture"
    order = Order.objects.get()
    assert (order.problem, order.problem_detail) == (problem, "Card declined at capture")


def test_an_order_without_a_problem_says_none_and_a_later_sync_clears_one(shop_client, api_client):
    shop_client.post(
        "/api/v1/orders", {**ORDER, "problem": "payment"}, content_type="application/json"
    )

    cleared = shop_client.post("/api/v1/orders", ORDER, content_type="application/json")

    assert cleared.status_code == 200
    assert (cleared.json()["problem"], cleared.json()["problem_detail"]) == ("none", "")
    assert Order.objects.get().problem == "none"


def test_an_unknown_problem_is_422(shop_client, api_client):
    response = shop_client.post(
        "/api/v1/orders", {**ORDER, "problem": "gremlins"}, content_type="application/json"
    )

    assert response.status_code == 422
    assert Order.objects.count() == 0


def test_openapi_documents_the_order_problem_fields_and_the_customer_patch(api_client):
    schema = api_client.get("/api/v1/openapi.json").json()

    order_in = schema["components"]["schemas"]["OrderIn"]["properties"]
    assert "problem_detail" in order_in
    problem = order_in["problem"]
    ref = problem.get("$ref") or problem.get("allOf", [{}])[0].get("$ref", "")
    enum = (
        schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]["enum"] if ref else problem["enum"]
    )
    assert set(enum) == {"none", "payment", "address", "other"}
    assert "patch" in schema["paths"]["/api/v1/customers/{customer_id}"]
