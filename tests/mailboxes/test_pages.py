"""The mailboxes admin page (add, test, pause, remove) and the inbox/API mailbox filter."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.services import issue_api_token
from mailboxes.models import Mailbox
from tests import factories
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dave_client(cast) -> Client:
    """An admin who just confirmed who they are: adding a mailbox asks for it (accounts/reauth.py;
    without a second factor, the password again)."""
    client = Client()
    client.post("/login/", {"username": cast.dave.email, "password": cast.password})
    client.post("/accounts/reauthenticate/", {"password": cast.password})
    return client


def test_an_admin_adds_tests_pauses_and_removes_a_mailbox(
    dave_client, imap_server, make_mail
) -> None:
    folder = imap_server.new_folder()
    imap_server.append(folder, make_mail("p1"))
    page = dave_client.get("/mailboxes/")
    assert page.status_code == 200 and 'href="/mailboxes/"' in page.content.decode()

    response = dave_client.post(
        "/mailboxes/new",
        {
            "address": "care@shop.test",
            "name": "Care",
            "imap_host": imap_server.host,
            "imap_port": imap_server.port,
            "imap_security": "none",
            "imap_user": imap_server.user,
            "imap_password": imap_server.password,
            "folder": folder,
            "smtp_security": "starttls",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Mailbox care@shop.test added" in html
    assert imap_server.password not in html
    mailbox = Mailbox.objects.get(address="care@shop.test")

    tested = dave_client.post(f"/mailboxes/{mailbox.pk}/test", follow=True).content.decode()
    assert "Logged in; " in tested and "1 messages, 1 unseen" in tested

    dave_client.post(f"/mailboxes/{mailbox.pk}/pause")
    mailbox.refresh_from_db()
    assert not mailbox.active
    assert "Resume" in dave_client.get("/mailboxes/").content.decode()

    dave_client.post(f"/mailboxes/{mailbox.pk}/delete")
    assert not Mailbox.objects.exists()


def test_bad_settings_are_shown_on_the_form_and_a_wrong_password_in_the_test(
    dave_client, imap_server
) -> None:
    response = dave_client.post("/mailboxes/new", {"address": "not-an-address", "imap_host": ""})
    assert response.status_code == 422
    assert not Mailbox.objects.exists()
    mailbox = factories.mailbox(imap_server, "INBOX", password="wrong-pw")
    html = dave_client.post(f"/mailboxes/{mailbox.pk}/test", follow=True).content.decode()
    assert "Login failed" in html and "wrong-pw" not in html


def test_agents_cannot_see_the_page_or_the_nav_link(cast) -> None:
    client = Client()
    client.force_login(cast.alice)
    assert client.get("/mailboxes/").status_code == 403
    assert 'href="/mailboxes/"' not in client.get("/inbox/").content.decode()


def test_inbox_and_api_filter_by_mailbox(cast, imap_server) -> None:
    shop = factories.mailbox(imap_server, "INBOX", address="shop@shop.test")
    other = factories.mailbox(imap_server, "INBOX", address="other@shop.test")
    mine = factories.TicketFactory(subject="From the shop mailbox", mailbox=shop)
    factories.TicketFactory(subject="From the other mailbox", mailbox=other)
    factories.TicketFactory(subject="From the web form", channel="web")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.alice)}")

    body = api.get("/api/v1/tickets", {"mailbox": shop.pk, "view": "all"}).json()
    detail = api.get(f"/api/v1/tickets/{mine.pk}").json()
    everything = api.get("/api/v1/tickets", {"view": "all"}).json()

    assert [t["subject"] for t in body["items"]] == ["From the shop mailbox"]
    assert body["items"][0]["mailbox"] == shop.pk and detail["mailbox"] == shop.pk
    assert {t["mailbox"] for t in everything["items"]} == {shop.pk, other.pk, None}
    page = Client()
    page.force_login(cast.alice)
    html = page.get("/inbox/", {"view": "all", "mailbox": shop.pk}).content.decode()
    assert "From the shop mailbox" in html and "From the other mailbox" not in html
    assert 'name="mailbox"' in html and "Shop support &lt;shop@shop.test&gt;" in html
    assert Ticket.objects.count() == 3
