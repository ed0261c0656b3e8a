"""Who may read an attachment: agents; the visitor of its chat (their visitor token); the
customer of its ticket (a signed link from their email). Anyone else gets 404, never a hint that
the file exists.

The visitor token belongs to live chat, above this app: livechat registers how to read one
(`register_visitor_resolver` in its AppConfig.ready), so this app imports nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from attachments.models import Attachment
from attachments.services import read_signature

# token -> the conversation id it proves, or None
VisitorResolver = Callable[[str], "int | None"]
_visitor_resolvers: list[VisitorResolver] = []


def register_visitor_resolver(resolver: VisitorResolver) -> None:
    if resolver not in _visitor_resolvers:
        _visitor_resolvers.append(resolver)


def visitor_conversation_id(token: str) -> int | None:
    for resolver in _visitor_resolvers:
        conversation_id = resolver(token)
        if conversation_id is not None:
            return conversation_id
    return None


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _is_agent(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_active:
        return True
    token = _bearer(request)
    if token:
        from accounts.services import user_for_token

        agent = user_for_token(token)
        if agent is not None and agent.is_active:
            return True
    return False


def can_read(request: HttpRequest, attachment: Attachment) -> bool:
    if _is_agent(request):
        return True
    signature = request.GET.get("sig", "")
    if signature and attachment.ticket_id is not None:
        return read_signature(signature, attachment_id=attachment.pk)
    token = _bearer(request)
    if token and attachment.conversation_id is not None:
        return visitor_conversation_id(token) == attachment.conversation_id
    return False
