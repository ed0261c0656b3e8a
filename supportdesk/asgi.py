"""ASGI entry point: HTTP through Django, websockets through Channels.

Origin checks are per route (supportdesk/routing.py): agents' sockets accept only our own hosts,
the visitor socket the sites that embed the widget.
"""

from __future__ import annotations

import gc
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware  # noqa: E402

from accounts.middleware import (  # noqa: E402
    RequireSecondFactorSocketMiddleware,
    SocketSessionMiddleware,
)
from supportdesk.routing import websocket_urlpatterns  # noqa: E402

websocket_router = URLRouter(websocket_urlpatterns)  # type: ignore[arg-type]  # types-channels wants a URLPattern subtype path() never returns
# Channels' AuthMiddlewareStack, with a session middleware that does not wrap `send`.
authenticated_websockets = CookieMiddleware(
    SocketSessionMiddleware(AuthMiddleware(RequireSecondFactorSocketMiddleware(websocket_router)))
)


async def websockets(scope: Any, receive: Any, send: Any) -> None:
    # Visitor sockets (the widget, possibly thousands of idle ones) carry no session: skipping the
    # cookie/session/auth layers saves their scope copies and a trip to the ORM thread per socket.
    if scope["path"] == "/ws/chat/":
        return await websocket_router(scope, receive, send)
    return await authenticated_websockets(scope, receive, send)


application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websockets})

# Everything loaded so far (Django, the apps, Twisted, autobahn) lives as long as the process. A
# full garbage collection stops the event loop, i.e. every socket of the process, and scanned all
# of it: about 137,000 objects, 78 ms per full collection on the 2-core machine, which showed as
# the chat benchmark's p99 at 500 conversations. Frozen objects are never scanned again, so
# collections only walk what sockets and requests created since.
gc.collect()
gc.freeze()
