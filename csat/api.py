"""CSAT over HTTP: the widget's end-of-chat rating (the rating as tickets and chats embed it is
`tickets.api.CsatOut`, filled through the `ticket_csat` and `chat_csat` lookups)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from core import ratelimit
from core.api import ApiError
from csat import services
from csat.models import COMMENT_MAX
from tickets.api import CsatOut

router = Router(tags=["csat"])


class WidgetCsatIn(Schema):
    visitor_token: str = Field(..., min_length=1, max_length=1000)
    # Checked by the service (1-5) so every client gets the same message and code.
    rating: int
    comment: str = Field("", max_length=COMMENT_MAX)


class WidgetCsatOut(CsatOut):
    conversation_id: int
    changed_at: datetime | None
    changeable_until: datetime


@router.post("/widget/csat", auth=None, response=WidgetCsatOut, tags=["widget"])
def widget_csat(request: HttpRequest, payload: WidgetCsatIn) -> dict[str, Any]:
    """Rate an ended chat from the widget; the visitor token proves which chat (no cookie)."""
    from livechat import services as chat_services

    ratelimit.check(request, "csat")
    identity = chat_services.read_visitor_token(payload.visitor_token)
    conversation = (
        chat_services.conversation_for_identity(identity) if identity is not None else None
    )
    if conversation is None:
        raise ApiError(401, "The visitor token is invalid or expired", "bad_token")
    try:
        survey = services.rate_chat(conversation, rating=payload.rating, comment=payload.comment)
    except services.CsatError as error:
        raise ApiError(error.status, str(error), error.code) from None
    return {
        "conversation_id": conversation.pk,
        "rating": survey.rating,
        "comment": survey.comment,
        "rated_at": survey.rated_at,
        "changed_at": survey.changed_at,
        "changeable_until": services.changeable_until(survey),
    }
