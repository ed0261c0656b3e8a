"""SQL and search-syntax injection, NUL bytes and out-of-range numbers: a clear 4xx or a correct
answer, never a 500, and nothing stored wrongly."""

from __future__ import annotations

import pytest

from customers.models import Customer
from tickets.models import Ticket

HOSTILE_QUERIES = [
    "shoes' OR '1'='1",
    "shoes'; DROP TABLE tickets_ticket; --",
    "shoes & | ! ( ) :* <->",
    "((((shoes",
    'shoes" -"',
    "\\",
    "%_%",
    "shoes\x00",
    "\u202eseohs",
    "x" * 200,
]


@pytest.fixture
def shoes(world):
    Ticket.objects.filter(pk=world.ticket.pk).update(
        subject="Where are my shoes", search_document="Where are my shoes"
    )
    Ticket.objects.filter(pk=world.other_ticket.pk).update(search_document="A question of hats")
    return world


@pytest.mark.parametrize("q", HOSTILE_QUERIES)
def test_ticket_search_treats_any_query_as_words(shoes, q):
    api = shoes.client("agent", api=True)
    response = api.get("/api/v1/tickets", {"q": q})

    if "\x00" in q:  # Postgres text cannot hold NUL: refused up front, clearly
        assert response.status_code == 422 and response.json()["code"] == "invalid"
        assert shoes.client("agent").get("/inbox/", {"q": q}).status_code == 400
        return
    assert response.status_code == 200, response.content
    ids = {item["id"] for item in response.json()["items"]}
    assert ids <= {shoes.ticket.pk, shoes.other_ticket.pk}
    page = shoes.client("agent").get("/inbox/", {"q": q, "view": "all"})
    assert page.status_code == 200
    assert Ticket.objects.count() == 2  # the "DROP TABLE" did nothing


def test_search_still_finds_real_words_next_to_operators(shoes):
    api = shoes.client("agent", api=True)
    ids = [i["id"] for i in api.get("/api/v1/tickets", {"q": "shoes' OR '1'='1"}).json()["items"]]
    assert shoes.ticket.pk in ids
    assert shoes.other_ticket.pk not in ids


@pytest.mark.parametrize("q", ["returns' OR 1=1 --", "ret:* & !x", "\x00", "((("])
def test_snippet_search_treats_any_query_as_words(world, q):
    response = world.client("agent", api=True).get("/api/v1/snippets", {"q": q})
    if "\x00" in q:  # Postgres text cannot hold NUL: refused up front, clearly
        assert response.status_code == 422 and response.json()["code"] == "invalid"
    else:
        assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/tickets", {"status": "open' OR 1=1"}),
        ("/api/v1/tickets", {"limit": "1; DROP TABLE x"}),
        ("/api/v1/wow/grants", {"kind": "refund' OR 1=1"}),
        ("/api/v1/chats", {"customer": "1 UNION SELECT password FROM accounts_user"}),
    ],
)
def test_filters_of_the_wrong_type_are_422(world, path, params):
    response = world.client("agent", api=True).get(path, params)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tickets/{n}",
        "/api/v1/chats/{n}",
        "/api/v1/customers/{n}",
        "/api/v1/wow/grants/{n}",
        "/api/v1/wow/stories/{n}",
        "/api/v1/snippets/{n}",
    ],
)
@pytest.mark.parametrize("n", [2**63, -1, 0])
def test_ids_out_of_range_are_404_not_a_crash(world, path, n):
    response = world.client("agent", api=True).get(path.format(n=n))
    assert response.status_code in (404, 422), response.content
    assert response.json()["code"] in ("not_found", "invalid")


def test_nul_bytes_in_a_new_ticket_are_refused_with_a_clear_error(world):
    api = world.client("agent", api=True)
    before = Ticket.objects.count()
    response = api.post(
        "/api/v1/tickets",
        {"subject": "Hi\x00there", "body": "Body\x00", "customer": {"email": "nul@shop.example"}},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": "NUL characters (U+0000) are not allowed in text",
        "code": "invalid",
    }
    assert Ticket.objects.count() == before
    # A literal backslash followed by "u0000" is ordinary text, not a NUL.
    fine = api.post(
        "/api/v1/tickets",
        {"subject": "C:\\u0000 path", "body": "ok", "customer": {"email": "nul@shop.example"}},
        content_type="application/json",
    )
    assert fine.status_code == 201
    assert Ticket.objects.get(pk=fine.json()["id"]).subject == "C:\\u0000 path"


def test_a_customer_email_with_sql_is_just_a_string(world):
    api = world.client("agent", api=True)
    response = api.post(
        "/api/v1/tickets",
        {
            "subject": "Robert",
            "body": "Hello",
            "customer": {"email": "robert'); DROP TABLE customers_customer;--@shop.example"},
        },
        content_type="application/json",
    )
    assert response.status_code in (201, 422)
    assert Customer.objects.count() >= 2
