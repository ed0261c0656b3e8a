"""Websockets of the agent app: live inbox updates and who-is-viewing on the ticket page.

Both sockets are hints only: the pages re-read the database when told something changed, so a lost
frame costs a stale screen until the next event, never data.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.cutoff import RevocableSocket
from core.realtime import send_event_on_commit
from tickets import events, services
from tickets.models import Ticket, TicketView

UNAUTHORIZED = 4401
NOT_FOUND = 4404


class Viewer(TypedDict):
    id: int
    name: str


class ViewersChanged(TypedDict):
    type: Literal["ticket.viewers"]
    ticket_id: int
    viewers: list[Viewer]


def _is_agent(scope: dict[str, Any]) -> bool:
    user = scope.get("user")
    return bool(user is not None and user.is_authenticated and user.is_active)


class InboxConsumer(RevocableSocket, AsyncJsonWebsocketConsumer):
    """Forwards `ticket.changed` events so the inbox re-fetches its table."""

    joined = False

    async def connect(self) -> None:
        # Accept first so the close code reaches the client (a pre-accept close is a bare 403).
        await self.accept()
        if not _is_agent(self.scope):
            await self.close(code=UNAUTHORIZED)
            return
        await self.watch_revocation(self.scope["user"])
        await self.channel_layer.group_add(events.INBOX_GROUP, self.channel_name)
        self.joined = True

    async def disconnect(self, code: int) -> None:
        await self.stop_watching_revocation()
        if self.joined:
            await self.channel_layer.group_discard(events.INBOX_GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        pass  # Nothing to say to the server; the browser only listens.

    async def ticket_changed(self, event: dict[str, Any]) -> None:
        await self.send_json(event)


class TicketConsumer(RevocableSocket, AsyncJsonWebsocketConsumer):
    """Presence on one ticket (collision warning) and its new messages and changes."""

    joined = False
    ticket_id = 0

    async def connect(self) -> None:
        await self.accept()
        if not _is_agent(self.scope):
            await self.close(code=UNAUTHORIZED)
            return
        self.ticket_id = int(self.scope["url_route"]["kwargs"]["ticket_id"])
        if not await self._ticket_exists():
            await self.close(code=NOT_FOUND)
            return
        self.group = events.ticket_group(self.ticket_id)
        await self.watch_revocation(self.scope["user"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.joined = True
        await self._touch_and_announce()

    async def disconnect(self, code: int) -> None:
        await self.stop_watching_revocation()
        if not self.joined:
            return
        await self._leave_and_announce()
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The page sends a heartbeat every 20 s; viewers not seen for 45 s drop out of the list.
        if isinstance(content, dict) and content.get("type") == "heartbeat" and self.joined:
            await self._touch_and_announce()

    @database_sync_to_async
    def _ticket_exists(self) -> bool:
        return Ticket.objects.filter(pk=self.ticket_id).exists()

    @database_sync_to_async
    def _touch_and_announce(self) -> None:
        user = self.scope["user"]
        ticket = Ticket.objects.only("id").get(pk=self.ticket_id)
        others = services.touch_viewer(ticket, user=user)
        self._announce([user, *others])

    @database_sync_to_async
    def _leave_and_announce(self) -> None:
        user = self.scope["user"]
        # Presence is not a record: dropping the row now spares others 45 s of a stale warning.
        TicketView.objects.filter(ticket_id=self.ticket_id, user=user).delete()
        ticket = Ticket.objects.filter(pk=self.ticket_id).only("id").first()
        if ticket is None:
            return
        from datetime import timedelta

        from django.utils import timezone

        recent = TicketView.objects.filter(
            ticket_id=self.ticket_id, seen_at__gte=timezone.now() - timedelta(seconds=45)
        ).select_related("user")
        self._announce([view.user for view in recent])

    def _announce(self, users: list[Any]) -> None:
        payload: ViewersChanged = {
            "type": "ticket.viewers",
            "ticket_id": self.ticket_id,
            "viewers": [{"id": u.pk, "name": u.display_name} for u in users],
        }
        send_event_on_commit(events.ticket_group(self.ticket_id), payload)

    async def ticket_viewers(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def ticket_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def ticket_updated(self, event: dict[str, Any]) -> None:
        await self.send_json(event)
