"""The request a view or API handler behind a login receives.

django-stubs types `request.user` as `User | AnonymousUser`; behind `login_required`, an agent-only
API router or `accounts.api_auth`, it is the signed-in agent. Annotate such a handler's request as
`AgentRequest` instead of casting `request.user` at each use. `htmx` is django-htmx's middleware's.
"""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import User


class AgentRequest(HttpRequest):
    user: User
    auth: User  # what django-ninja's agent auth (accounts.api_auth) returned: the same agent
    htmx: HtmxDetails
