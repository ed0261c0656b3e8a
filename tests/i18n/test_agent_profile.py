"""Each agent picks the agent app's language and a timezone on their profile page; every agent
page then speaks that language and shows times in that timezone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from audit.models import AuditEntry
from customers.services import customer_for_email
from tickets import services as tickets
from tickets.models import Message


@pytest.fixture
def alice(cast) -> Client:
    client = Client()
    client.force_login(cast.alice)
    return client


def test_the_profile_page_offers_languages_and_timezones(alice) -> None:
    html = alice.get("/profile/").content.decode()
    assert '<option value="es" lang="es" >Español</option>' in html
    assert '<option value="Europe/Madrid" >Europe/Madrid</option>' in html


def test_an_agent_switches_the_agent_app_to_spanish(cast, alice) -> None:
    response = alice.post("/profile/", {"language": "es", "timezone": ""})
    assert response.status_code == 302
    cast.alice.refresh_from_db()
    assert cast.alice.language == "es"
    # Whatever the browser asks for, the agent app follows the profile.
    page = alice.get("/inbox/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="es">' in page
    assert ">Bandeja de entrada</a>" in page and ">Cerrar sesión</button>" in page
    assert "<h1>Bandeja de entrada</h1>" in page
    chats = alice.get("/chats/").content.decode()
    assert "Mi estado" in chats
    entry = AuditEntry.objects.get(action="agent.profile_changed")
    assert entry.detail["changes"] == {"language": ["", "es"]}


def test_a_german_agents_inbox_heads_its_columns_in_german(cast, alice) -> None:
    cast.alice.language = "de"
    cast.alice.save(update_fields=["language"])
    page = alice.get("/inbox/").content.decode()
    assert '<html lang="de">' in page
    assert ">Aktualisiert</th>" in page and ">Updated</th>" not in page


def test_without_a_chosen_language_the_browser_decides(alice) -> None:
    page = alice.get("/inbox/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
    assert '<html lang="de">' in page and ">Posteingang</a>" in page
    english = alice.get("/inbox/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="en">' in english and ">Inbox</a>" in english


def test_times_on_agent_pages_show_in_the_agents_timezone(cast, alice) -> None:
    customer = customer_for_email("pat@shop.example", name="Pat")
    ticket, message = tickets.create_ticket(
        tickets.NewTicket(customer=customer, subject="Boots", body_text="Hi")
    )
    Message.objects.filter(pk=message.pk).update(
        created_at=datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    )
    site = alice.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Mar 2, 2026 23:30" in site  # the site's timezone (UTC in tests)

    assert alice.post("/profile/", {"language": "", "timezone": "Asia/Tokyo"}).status_code == 302
    tokyo = alice.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Mar 3, 2026 08:30" in tokyo and "Mar 2, 2026 23:30" not in tokyo
    profile = alice.get("/profile/").content.decode()
    assert "(JST)" in profile

    # Another agent, without a timezone, still sees the site's.
    bob = Client()
    bob.force_login(cast.bob)
    assert "Mar 2, 2026 23:30" in bob.get(f"/tickets/{ticket.pk}/").content.decode()


@pytest.mark.parametrize(
    "form",
    [
        {"language": "fr", "timezone": ""},
        {"language": "", "timezone": "Mars/Olympus_Mons"},
        {"language": "es", "timezone": "../../etc/passwd"},
    ],
)
def test_an_unknown_language_or_timezone_is_refused_and_nothing_changes(cast, alice, form) -> None:
    response = alice.post("/profile/", form)
    assert response.status_code == 422
    assert "Unknown" in response.content.decode()
    cast.alice.refresh_from_db()
    assert (cast.alice.language, cast.alice.timezone) == ("", "")


def test_the_profile_page_needs_a_sign_in(db) -> None:
    response = Client().get("/profile/")
    assert response.status_code == 302 and "/login/" in response["Location"]
