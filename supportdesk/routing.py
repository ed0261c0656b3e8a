from __future__ import annotations

from django.urls import URLPattern, URLResolver

from livechat.routing import websocket_urlpatterns as chat_routes
from tickets.routing import websocket_urlpatterns as ticket_routes

websocket_urlpatterns: list[URLPattern | URLResolver] = [*ticket_routes, *chat_routes]
