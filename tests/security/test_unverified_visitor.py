"""Finding 1: a widget visitor who only *claims* an email is never treated as that customer.

Sam Best has an order with an address and tracking. An impostor opens the widget as
sam.best@example.com without a user_hash: the chat is not linked to Sam, agents see the claim,
a grant made there is flagged and tells the chat nothing of Sam's; a code emailed to the address
proves it and links the chat; a user_hash may carry an expiry."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from decimal import Decimal

import pytest
from django.test import Client

from accounts.services import issue_api_token
from livechat import services as chat_services
from livechat.models import ChatMessage, Conversation
from mailer.models import OutboundEmail
from tests import factories
from wow_credits import services as grant_services
from wow_credits.models import Grant

SAM = "sam.best@example.com"


@pytest.fixture
def sam(db):
    customer = factories.CustomerFactory(name="Sam Best", email=SAM)
    order = factories.OrderFactory(customer=customer, external_id="WED-1", total=Decimal("180"))
    factories.ShipmentFactory(order=order, address="21 Chapel Rd", tracking="1ZSAM0001")
    return customer


def widget_session(**body) -> tuple[int, dict]:
    response = Client().post(
        "/api/v1/widget/sessions",
        json.dumps({"name": "Sam", "email": SAM, **body}),
        content_type="application/json",
    )
    return response.status_code, response.json()


def visitor(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_an_unverified_claim_is_not_linked_to_the_customer(cast, sam):
    status, session = widget_session()
    assert status == 201 and session["verified"] is False
    conversation = Conversation.objects.get(pk=session["conversation_id"])
    assert conversation.customer_id is None
    chat = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.alice)}").get(
        f"/api/v1/chats/{conversation.pk}"
    )
    body = chat.json()
    assert body["customer_id"] is None and body["verified"] is False
    assert body["visitor_email"] == SAM  # shown to agents as a claim


def test_the_grant_dialog_flags_the_claim_and_hides_the_customers_orders(cast, sam):
    _, session = widget_session()
    client = Client()
    client.force_login(cast.alice)
    page = client.get(f"/wow/grant?chat_id={session['conversation_id']}").content.decode()
    assert "Unverified chat" in page and f"says they are {SAM}" in page
    assert "WED-1" not in page and "Make it right for Sam Best" not in page


def test_a_grant_in_an_unverified_chat_is_flagged_and_tells_the_chat_nothing(cast, sam, settings):
    settings.SUPPORTDESK_UNDO_SECONDS = 0
    _, session = widget_session()
    chat_id = session["conversation_id"]
    client = Client()
    client.force_login(cast.alice)
    for kind, extra in (("discount_code", {"amount": "20"}), ("vip_upgrade", {})):
        response = client.post(
            "/wow/grant",
            {"chat_id": chat_id, "kind": kind, "reason": "Wedding shoes", "idempotency_key": kind}
            | extra,
        )
        assert response.status_code == 200, response.content.decode()[:2000]
        assert "unverified chat" in response.content.decode()
    grants = list(Grant.objects.order_by("id"))
    assert [g.unverified_chat for g in grants] == [True, True]
    assert {g.customer_id for g in grants} == {sam.pk}  # the address's owner, by email only
    grant_services.execute_due()
    chat_lines = " ".join(
        ChatMessage.objects.filter(conversation_id=chat_id).values_list("body", flat=True)
    )
    assert "WOW-" not in chat_lines and "20" not in chat_lines and "VIP" not in chat_lines
    assert "1ZSAM0001" not in chat_lines and "Chapel" not in chat_lines
    assert "confirmation went by email" in chat_lines
    # The real Sam hears by email, where the code is.
    mails = [m for m in OutboundEmail.objects.all() if m.to == [SAM]]
    assert any("WOW-" in m.body_text for m in mails)


def test_the_api_flags_a_grant_made_in_an_unverified_chat(cast, sam):
    _, session = widget_session()
    response = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.alice)}").post(
        "/api/v1/wow/grants",
        json.dumps(
            {
                "kind": "reroute_overnight",
                "order_external_id": "WED-1",
                "reason": "Wedding",
                "chat_id": session["conversation_id"],
            }
        ),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="r1",
    )
    assert response.status_code == 201 and response.json()["unverified_chat"] is True


def _code_from_mail() -> str:
    mail = OutboundEmail.objects.filter(to=[SAM]).latest("id")
    return re.search(r"\b(\d{6})\b", mail.body_text).group(1)


def test_an_emailed_code_proves_the_address_and_links_the_chat(cast, sam):
    _, session = widget_session()
    token = session["visitor_token"]
    asked = visitor(token).post("/api/v1/widget/verification")
    assert asked.status_code == 202 and asked.json()["sent_to"] == "s***@example.com"
    code = _code_from_mail()
    guess = "000000" if code != "000000" else "999999"
    wrong = visitor(token).post(
        "/api/v1/widget/verification/confirm", {"code": guess}, content_type="application/json"
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_code"
    confirmed = visitor(token).post(
        "/api/v1/widget/verification/confirm", {"code": code}, content_type="application/json"
    )
    assert confirmed.status_code == 200 and confirmed.json()["verified"] is True
    conversation = Conversation.objects.get(pk=session["conversation_id"])
    assert conversation.verified and conversation.customer_id == sam.pk
    identity = chat_services.read_visitor_token(confirmed.json()["visitor_token"])
    assert identity is not None and identity.verified
    # A used code does not work twice.
    again = visitor(token).post(
        "/api/v1/widget/verification/confirm", {"code": code}, content_type="application/json"
    )
    assert again.status_code == 200  # already verified: nothing more to prove


def test_wrong_codes_are_limited(sam):
    _, session = widget_session()
    token = session["visitor_token"]
    visitor(token).post("/api/v1/widget/verification")
    code = _code_from_mail()
    guess = "111111" if code != "111111" else "222222"
    statuses = [
        visitor(token)
        .post(
            "/api/v1/widget/verification/confirm", {"code": guess}, content_type="application/json"
        )
        .status_code
        for _ in range(6)
    ]
    assert statuses == [422] * 5 + [429]
    late = visitor(token).post(
        "/api/v1/widget/verification/confirm", {"code": code}, content_type="application/json"
    )
    assert late.status_code == 429  # the right code no longer helps: ask for a new one


def test_verification_needs_the_visitor_token(db):
    assert Client().post("/api/v1/widget/verification").status_code == 401


def _hash(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def test_a_user_hash_may_carry_an_expiry(sam, settings):
    secret = settings.SUPPORTDESK_WIDGET_SECRET
    future = int(time.time()) + 3600
    status, session = widget_session(user_hash=f"{future}.{_hash(secret, f'{SAM}:{future}')}")
    assert status == 201 and session["verified"] is True
    assert Conversation.objects.get(pk=session["conversation_id"]).customer_id == sam.pk
    past = int(time.time()) - 1
    status, body = widget_session(user_hash=f"{past}.{_hash(secret, f'{SAM}:{past}')}")
    assert status == 403 and body["code"] == "bad_user_hash"
    status, _ = widget_session(user_hash=f"{future}.{_hash(secret, f'{SAM}:{future + 1}')}")
    assert status == 403
    # The plain hash (no expiry) still works unless the company requires an expiry.
    plain = _hash(secret, SAM)
    assert widget_session(user_hash=plain)[0] == 201
    settings.SUPPORTDESK_WIDGET_HASH_REQUIRE_EXPIRY = True
    assert widget_session(user_hash=plain)[0] == 403
