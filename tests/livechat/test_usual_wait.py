"""What the widget tells a waiting visitor: the median wait for an agent over recent chats."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from livechat import services
from livechat.models import Conversation


def test_the_usual_wait_is_the_median_of_recent_joined_chats(db) -> None:
    cache.delete("livechat:usual-wait")
    assert services.usual_wait_seconds() is None
    now = timezone.now()
    for seconds in (30, 60, 600):
        Conversation.objects.create(created_at=now, joined_at=now + timedelta(seconds=seconds))
    Conversation.objects.create(created_at=now - timedelta(days=30), joined_at=now)  # too old
    cache.delete("livechat:usual-wait")

    assert services.usual_wait_seconds() == 60


def test_a_new_widget_session_carries_the_usual_wait(client, db) -> None:
    cache.delete("livechat:usual-wait")
    now = timezone.now()
    Conversation.objects.create(created_at=now, joined_at=now + timedelta(seconds=120))

    response = client.post(
        "/api/v1/widget/sessions", {"name": "Sam", "email": ""}, content_type="application/json"
    )

    assert response.status_code == 201
    assert response.json()["usual_wait_seconds"] == 120
