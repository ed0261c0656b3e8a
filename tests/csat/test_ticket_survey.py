"""CSAT by email: solving a ticket asks once; the signed link rates it, changes it, then closes."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from csat import services
from csat.models import Survey
from mailer.delivery import deliver_all_due
from mailer.models import OutboundEmail
from tests.helpers.csat import token_in
from tickets import services as tickets
from tickets.models import Ticket


def _solve(ticket: Ticket, by, capture) -> None:
    with capture(execute=True):
        tickets.set_status(ticket, status="solved", by=by)


def _survey_emails() -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(subject__startswith="How did we do?"))


def test_solving_a_ticket_emails_one_threaded_survey_whose_link_works(
    cast, customer_ticket, smtp_sink, django_capture_on_commit_callbacks, api_client
):
    _solve(customer_ticket, cast.alice, django_capture_on_commit_callbacks)
    deliver_all_due()

    [mail] = [m for m in smtp_sink.wait_for(2) if m["Subject"].startswith("How did we do?")]
    assert mail["To"] == "pat@shop.example"
    assert f"[#{customer_ticket.reference}]" in mail["Subject"]
    assert mail["Reply-To"] == tickets.reply_address(customer_ticket)
    last_id = customer_ticket.messages.order_by("created_at", "id").last().message_id
    assert mail["In-Reply-To"] == last_id
    assert "<first@shop.example>" in mail["References"]
    assert mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    token = token_in(text)
    assert token_in(html) == token

    client = Client()
    page = client.get(f"/csat/{token}/")
    assert page.status_code == 200
    assert b"How did we do?" in page.content and b"Size chart" in page.content

    response = client.post(f"/csat/{token}/", {"rating": "5", "comment": "Spot on, thanks!"})
    assert response.status_code == 200
    assert b"Thank you!" in response.content

    survey = Survey.objects.get(ticket=customer_ticket)
    assert (survey.rating, survey.comment, survey.agent) == (5, "Spot on, thanks!", cast.alice)
    data = api_client.get(f"/api/v1/tickets/{customer_ticket.pk}").json()
    assert data["csat"]["rating"] == 5
    assert data["csat"]["comment"] == "Spot on, thanks!"
    assert data["csat"]["rated_at"]


def test_resolving_the_ticket_asks_nothing_more(
    cast, customer_ticket, django_capture_on_commit_callbacks
):
    _solve(customer_ticket, cast.alice, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        tickets.set_status(customer_ticket, status="open", by=cast.alice)
    _solve(customer_ticket, cast.alice, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        tickets.add_agent_reply(
            customer_ticket, by=cast.bob, body_text="One more thing.", status="solved"
        )
    assert len(_survey_emails()) == 1
    assert Survey.objects.filter(ticket=customer_ticket).count() == 1


def test_the_ticket_json_shows_null_until_the_customer_rates(
    cast, customer_ticket, django_capture_on_commit_callbacks, api_client
):
    assert api_client.get(f"/api/v1/tickets/{customer_ticket.pk}").json()["csat"] is None
    _solve(customer_ticket, cast.alice, django_capture_on_commit_callbacks)
    assert api_client.get(f"/api/v1/tickets/{customer_ticket.pk}").json()["csat"] is None


def test_a_preselected_link_shows_the_choice_and_records_nothing(cast, customer_ticket):
    survey = services.request_for_ticket(customer_ticket)
    page = Client().get(f"/csat/{services.issue_token(survey)}/?rating=4")
    assert page.status_code == 200
    assert b'value="4" required checked' in page.content
    survey.refresh_from_db()
    assert survey.rating is None


def test_rating_again_within_7_days_changes_the_one_rating(cast, customer_ticket):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        survey = services.request_for_ticket(customer_ticket)
        token = services.issue_token(survey)
    client = Client()
    with time_machine.travel(start + timedelta(days=1), tick=False):
        first = client.post(
            f"/csat/{token}/", {"rating": 2, "comment": "Slow"}, content_type="application/json"
        )
        assert first.status_code == 200
        assert first.json()["rating"] == 2
    with time_machine.travel(start + timedelta(days=6, hours=23), tick=False):
        second = client.post(f"/csat/{token}/", {"rating": "4", "comment": "Sorted in the end"})
        assert second.status_code == 200

    [survey] = Survey.objects.filter(ticket=customer_ticket)
    assert (survey.rating, survey.comment) == (4, "Sorted in the end")
    assert survey.rated_at == start + timedelta(days=1)
    assert survey.changed_at == start + timedelta(days=6, hours=23)
    assert services.summary_for_agent(cast.alice).count == 1


def test_after_7_days_the_link_is_refused_with_410(cast, customer_ticket):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        survey = services.request_for_ticket(customer_ticket)
        token = services.issue_token(survey)
        assert Client().post(f"/csat/{token}/", {"rating": 3}).status_code == 200
    client = Client()
    with time_machine.travel(start + timedelta(days=7, minutes=1), tick=False):
        page = client.get(f"/csat/{token}/")
        assert page.status_code == 410
        assert b"closed 7 days after it was sent" in page.content
        assert b'name="rating"' not in page.content
        late = client.post(f"/csat/{token}/", {"rating": 5}, content_type="application/json")
        assert late.status_code == 410
        assert late.json()["code"] == "expired"
    survey.refresh_from_db()
    assert survey.rating == 3


def test_a_forged_or_tampered_token_is_refused(cast, customer_ticket):
    survey = services.request_for_ticket(customer_ticket)
    token = services.issue_token(survey)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    client = Client()
    for bad in (tampered, "not-a-token", signing.dumps({"s": survey.pk}, salt="other")):
        response = client.post(f"/csat/{bad}/", {"rating": 5})
        assert response.status_code == 400
        assert b"This survey link is not valid." in response.content
    survey.refresh_from_db()
    assert survey.rating is None


def test_a_token_of_another_conversation_never_rates_this_one(cast, customer_ticket):
    from customers.services import customer_for_email

    other, _ = tickets.create_ticket(
        tickets.NewTicket(
            customer=customer_for_email("sam@shop.example"), subject="Gift wrap", body_text="Hi"
        )
    )
    mine, theirs = services.request_for_ticket(customer_ticket), services.request_for_ticket(other)
    # A payload that names this survey but another ticket, signed with our own key: refused.
    swapped = signing.dumps(
        {"s": mine.pk, "k": "t", "o": other.pk, "n": mine.nonce},
        salt=services.TOKEN_SALT,
        compress=True,
    )
    assert Client().post(f"/csat/{swapped}/", {"rating": 1}).status_code == 400

    assert Client().post(f"/csat/{services.issue_token(theirs)}/", {"rating": 1}).status_code == 200
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.rating, theirs.rating) == (None, 1)


def test_a_token_from_an_older_request_is_refused_after_a_resend(
    cast, customer_ticket, django_capture_on_commit_callbacks
):
    survey = services.request_for_ticket(customer_ticket)
    old = services.issue_token(survey)
    client = Client()
    client.force_login(cast.bob)
    response = client.post(f"/csat/surveys/{survey.pk}/resend")
    assert response.status_code == 302
    assert len(_survey_emails()) == 2
    new = token_in(_survey_emails()[-1].body_text)

    refused = Client().post(f"/csat/{old}/", {"rating": 5})
    assert refused.status_code == 400
    assert b"replaced by a newer one" in refused.content
    assert Client().post(f"/csat/{new}/", {"rating": 5}).status_code == 200


def test_a_wrong_rating_or_an_overlong_comment_is_400_with_a_message(cast, customer_ticket):
    survey = services.request_for_ticket(customer_ticket)
    url = f"/csat/{services.issue_token(survey)}/"
    client = Client()
    for rating in ("0", "6", "five", ""):
        response = client.post(url, {"rating": rating})
        assert response.status_code == 400
        assert b"Choose a rating from 1 to 5." in response.content
    response = client.post(url, {"rating": 9}, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Choose a rating from 1 to 5.", "code": "invalid_rating"}
    too_long = client.post(url, {"rating": 4, "comment": "x" * 2001})
    assert too_long.status_code == 400
    assert b"too long" in too_long.content
    survey.refresh_from_db()
    assert survey.rating is None


def test_the_ticket_page_shows_the_rating_with_the_comment_escaped(cast, customer_ticket):
    survey = services.request_for_ticket(customer_ticket)
    services.record_rating(services.issue_token(survey), 2, '<script>alert("x")</script> too slow')
    client = Client()
    client.force_login(cast.bob)
    page = client.get(f"/tickets/{customer_ticket.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="csat-rating">2</strong>' in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; too slow" in html
    assert '<script>alert("x")</script>' not in html
