"""Websockets of the agent app: live inbox updates and who-is-viewing on the ticket page.

Both sockets are hints only: the pages re-read the database when told something changed, so a lost
frame costs a stale screen until the next event, never data.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.cutoff import RevocableSocket
from tickets import events, services
from tickets.models import Ticket

UNAUTHORIZED = 4401
NOT_FOUND = 4404


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
        ticket = Ticket.objects.only("id").get(pk=self.ticket_id)
        services.touch_viewer(ticket, user=self.scope["user"])

    @database_sync_to_async
    def _leave_and_announce(self) -> None:
        services.leave_viewer(self.ticket_id, user=self.scope["user"])

    async def ticket_viewers(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def ticket_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def ticket_updated(self, event: dict[str, Any]) -> None:
        await self.send_json(event)
