"""CSAT at the end of a chat: the widget rates it with the visitor token; email if we have one."""

from __future__ import annotations

from django.test import Client

from csat import services
from csat.models import Survey
from livechat import services as chat
from livechat.models import ChatAuthorType
from mailer.models import OutboundEmail
from tests.helpers.csat import token_in


def _chat(email: str = "ben@shop.example", *, agent=None) -> tuple[int, str]:
    conversation, token = chat.start_session(name="Ben Best", email=email)
    chat.post_message(
        conversation.pk, author_type=ChatAuthorType.VISITOR, body="Hi!", client_id="c1"
    )
    if agent is not None:
        chat.join_conversation(conversation.pk, agent=agent)
    return conversation.pk, token


def _rate(token: str, rating: object, comment: str = "") -> object:
    return Client().post(
        "/api/v1/widget/csat",
        {"visitor_token": token, "rating": rating, "comment": comment},
        content_type="application/json",
    )


def test_ending_a_chat_asks_by_email_and_the_widget_rates_once(
    cast, api_client, django_capture_on_commit_callbacks
):
    chat_id, token = _chat(agent=cast.bob)
    with django_capture_on_commit_callbacks(execute=True):
        chat.end_conversation(chat_id, by=cast.bob)
    with django_capture_on_commit_callbacks(execute=True):
        chat.end_conversation(chat_id, by=cast.bob)  # ending twice asks once
    [email] = OutboundEmail.objects.filter(to=["ben@shop.example"])
    assert email.extra_headers["Auto-Submitted"] == "auto-generated"
    assert token_in(email.body_text)

    first = _rate(token, 3, "Took a while")
    assert first.status_code == 200, first.content
    assert first.json()["rating"] == 3
    second = _rate(token, 5, "Actually, great")
    assert second.status_code == 200
    assert second.json()["changed_at"]

    [survey] = Survey.objects.filter(conversation_id=chat_id)
    assert (survey.rating, survey.comment, survey.agent) == (5, "Actually, great", cast.bob)
    data = api_client.get(f"/api/v1/chats/{chat_id}").json()
    assert data["csat"]["rating"] == 5
    assert data["csat"]["comment"] == "Actually, great"

    # The emailed link changes the same one rating.
    assert Client().post(f"/csat/{token_in(email.body_text)}/", {"rating": 4}).status_code == 200
    survey.refresh_from_db()
    assert survey.rating == 4
    assert Survey.objects.filter(conversation_id=chat_id).count() == 1


def test_an_anonymous_chat_gets_the_widget_form_but_no_email(
    cast, django_capture_on_commit_callbacks
):
    chat_id, token = _chat(email="")
    with django_capture_on_commit_callbacks(execute=True):
        chat.end_conversation(chat_id)
    assert Survey.objects.filter(conversation_id=chat_id, email="").exists()
    assert not OutboundEmail.objects.exists()
    assert _rate(token, 4).status_code == 200


def test_a_chat_that_has_not_ended_cannot_be_rated(cast):
    _, token = _chat()
    response = _rate(token, 5)
    assert response.status_code == 409
    assert response.json()["code"] == "chat_not_ended"
    assert not Survey.objects.exists()


def test_the_widget_refuses_a_bad_token_and_a_bad_rating(cast, django_capture_on_commit_callbacks):
    chat_id, token = _chat()
    with django_capture_on_commit_callbacks(execute=True):
        chat.end_conversation(chat_id)
    forged = _rate(token[:-3] + "xyz", 5)
    assert forged.status_code == 401
    assert forged.json()["code"] == "bad_token"
    wrong = _rate(token, 0)
    assert wrong.status_code == 400
    assert wrong.json() == {"detail": "Choose a rating from 1 to 5.", "code": "invalid_rating"}
    assert Survey.objects.get(conversation_id=chat_id).rating is None


def test_a_visitor_token_rates_only_its_own_chat(cast, django_capture_on_commit_callbacks):
    first_id, first_token = _chat("a@shop.example")
    second_id, _ = _chat("b@shop.example")
    with django_capture_on_commit_callbacks(execute=True):
        chat.end_conversation(first_id)
        chat.end_conversation(second_id)
    assert _rate(first_token, 2).status_code == 200
    ratings = dict(Survey.objects.values_list("conversation_id", "rating"))
    assert ratings == {first_id: 2, second_id: None}


def test_an_escalated_chat_survey_is_threaded_with_its_ticket(
    cast, django_capture_on_commit_callbacks
):
    chat_id, _ = _chat(agent=cast.alice)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = chat.escalate_to_email(chat_id, by=cast.alice, email="ben@shop.example")
        chat.end_conversation(chat_id, by=cast.alice)
    survey = Survey.objects.get(conversation_id=chat_id)
    email = OutboundEmail.objects.get(subject__startswith="How did we do?")
    assert email.ticket_id == ticket.pk
    assert f"[#{ticket.reference}]" in email.subject
    assert email.in_reply_to
    assert services.result_for_chat(conversation=survey.conversation) is None
