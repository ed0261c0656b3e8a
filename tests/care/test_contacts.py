"""Contacts are all customers: vendors, candidates and employees write in like anyone else, their
tickets show their kind, the inbox and the API filter by it, and agents can reclassify them."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client

from customers.models import Customer, CustomerKind
from customers.services import customer_for_email
from livechat.services import expected_user_hash, start_session
from tests import factories
from tests.helpers.inbound import build_email, post_raw
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUPPORTDESK_INBOUND_SECRET = "test-inbound-secret"
    settings.SUPPORTDESK_EMPLOYEE_DOMAINS = ["ourshop.example"]


@pytest.fixture
def alice_client(cast) -> Client:
    client = Client()
    client.force_login(cast.alice)
    return client


def _ticket_for(kind: str, subject: str) -> Ticket:
    customer = factories.CustomerFactory(kind=kind, name=f"A {kind}")
    return factories.TicketFactory(customer=customer, subject=subject, status="open")


def _subjects(html: str) -> set[str]:
    return {unescape(s) for s in re.findall(r'<a href="/tickets/\d+/">([^<]+)</a>', html)}


def test_an_employee_writing_from_a_company_domain_is_recognised(client):
    response = post_raw(
        client, build_email(sender="Eve <eve@OurShop.example>", subject="Laptop").as_bytes()
    )

    assert response.status_code == 202
    ticket = Ticket.objects.get(pk=response.json()["ticket_id"])
    assert ticket.customer.kind == CustomerKind.EMPLOYEE
    assert customer_for_email("ops@eu.ourshop.example").kind == CustomerKind.EMPLOYEE
    assert customer_for_email("pat@shop.example").kind == CustomerKind.CUSTOMER
    assert customer_for_email("x@notourshop.example").kind == CustomerKind.CUSTOMER


def test_an_existing_contact_keeps_the_kind_an_agent_gave_them(settings):
    vendor = customer_for_email("billing@ourshop.example", kind=CustomerKind.VENDOR)

    assert customer_for_email("billing@ourshop.example").pk == vendor.pk
    assert Customer.objects.get(pk=vendor.pk).kind == CustomerKind.VENDOR


def test_a_candidate_chats_like_a_customer(cast):
    candidate = customer_for_email("jordan@cv.example", kind=CustomerKind.CANDIDATE)

    # Signed in on the shop (a valid user_hash): only a verified claim links to the contact.
    conversation, token = start_session(
        name="Jordan", email="jordan@cv.example", user_hash=expected_user_hash("jordan@cv.example")
    )

    assert token and conversation.customer_id == candidate.pk


def test_inbox_rows_and_the_ticket_page_show_the_contacts_kind(alice_client):
    vendor_ticket = _ticket_for(CustomerKind.VENDOR, "Invoice 2291")

    inbox = alice_client.get("/inbox/").content.decode()
    page = alice_client.get(f"/tickets/{vendor_ticket.pk}/").content.decode()

    row = inbox[inbox.index("Invoice 2291") :].split("</tr>")[0]
    assert '<span class="badge">Vendor</span>' in row
    assert '<span class="badge kind" title="Contact kind">Vendor</span>' in page


def test_the_inbox_filters_by_contact_kind(alice_client):
    _ticket_for(CustomerKind.VENDOR, "Invoice 2291")
    _ticket_for(CustomerKind.CANDIDATE, "Interview schedule")
    _ticket_for(CustomerKind.CUSTOMER, "Where are my shoes")

    html = alice_client.get("/inbox/", {"view": "open", "kind": "candidate"}).content.decode()

    assert _subjects(html) == {"Interview schedule"}


def test_the_api_filters_by_contact_kind(api_client):
    _ticket_for(CustomerKind.VENDOR, "Invoice 2291")
    _ticket_for(CustomerKind.EMPLOYEE, "Laptop")
    _ticket_for(CustomerKind.CUSTOMER, "Where are my shoes")

    body = api_client.get("/api/v1/tickets", {"contact_kind": "vendor"}).json()
    bad = api_client.get("/api/v1/tickets", {"contact_kind": "alien"})

    assert [(t["subject"], t["customer"]["kind"]) for t in body["items"]] == [
        ("Invoice 2291", "vendor")
    ]
    assert bad.status_code == 422 and bad.json()["code"] == "invalid"


def test_an_agent_changes_a_contacts_kind_through_the_api(api_client):
    customer = factories.CustomerFactory()

    response = api_client.patch(
        f"/api/v1/customers/{customer.pk}", {"kind": "candidate"}, content_type="application/json"
    )
    bad = api_client.patch(
        f"/api/v1/customers/{customer.pk}", {"kind": "alien"}, content_type="application/json"
    )

    assert response.status_code == 200 and response.json()["kind"] == "candidate"
    assert bad.status_code == 422
    assert Customer.objects.get(pk=customer.pk).kind == CustomerKind.CANDIDATE


def test_an_agent_changes_a_contacts_kind_from_the_ticket_sidebar(alice_client):
    ticket = _ticket_for(CustomerKind.CUSTOMER, "Partnership")

    page = alice_client.get(f"/tickets/{ticket.pk}/").content.decode()
    response = alice_client.post(f"/tickets/{ticket.pk}/contact-kind", {"kind": "vendor"})

    assert f'action="/tickets/{ticket.pk}/contact-kind"' in page
    assert response.status_code == 302
    assert Customer.objects.get(pk=ticket.customer_id).kind == CustomerKind.VENDOR
