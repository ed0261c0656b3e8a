"""Who may use each route: the table test_permission_matrix.py checks every URL and API operation
against. A route missing here fails that test by name, so a new view cannot ship without a rule.

Outcomes per role: "ok" (served), "login" (not authenticated: 401, or a redirect to a login
page), "forbidden" (authenticated but not allowed: 403, or the admin's login page for a
non-admin). Staff roles are agent < manager < admin, plus trainees (agents in their first weeks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROLES = ("anonymous", "visitor", "customer", "agent", "trainee", "manager", "admin")
STAFF = ("agent", "trainee", "manager", "admin")


Expect = dict[str, str]


def allow(*roles: str) -> Expect:
    return {
        role: "ok" if role in roles else ("forbidden" if role in STAFF else "login")
        for role in ROLES
    }


PUBLIC = allow(*ROLES)
AGENTS = allow(*STAFF)  # every employee takes shifts (PRODUCT.md): login is the check
MANAGERS = allow("manager", "admin")
ADMINS = allow("admin")
# Signed by the sender (HMAC of the body), never by a user: refused for everyone without it.
SIGNED = allow()
# The widget's own-account endpoints: a verified visitor's token only; the matrix's visitor is
# unverified (403 `unverified`), everyone else has no visitor token at all.
VERIFIED_VISITOR = {**allow(), "visitor": "forbidden"}


@dataclass(frozen=True)
class Rule:
    path: Callable[[Any], str]
    methods: dict[str, Expect] = field(default_factory=dict)


def fixed(url: str) -> Callable[[Any], str]:
    return lambda w: url


def _export_job_id(w: Any) -> int:
    from django.utils import timezone

    from privacy.models import ExportJob

    job = ExportJob.objects.create(
        customer=w.customer, link_digest="0" * 64, expires_at=timezone.now()
    )
    return job.pk


def _agent_token_id(w: Any) -> int:
    from accounts.models import ApiToken

    return ApiToken.objects.filter(user=w.users["agent"]).values_list("pk", flat=True)[0]


# Django routes, by their pattern as the URL conf spells it (prefixes joined).
PAGES: dict[str, Rule] = {
    "healthz": Rule(fixed("/healthz"), {"GET": PUBLIC}),
    "favicon.ico": Rule(fixed("/favicon.ico"), {"GET": PUBLIC}),
    "api/v1/": Rule(fixed("/api/v1/"), {"GET": PUBLIC}),
    "api/v1/openapi.json": Rule(fixed("/api/v1/openapi.json"), {"GET": PUBLIC}),
    "api/v1/docs": Rule(fixed("/api/v1/docs"), {"GET": PUBLIC}),
    # The admin has no login form of its own: it sends people to /login/ (second factor there).
    "admin/login/": Rule(fixed("/admin/login/"), {"GET": ADMINS}),
    "login/": Rule(fixed("/login/"), {"GET": PUBLIC}),
    "logout/": Rule(fixed("/logout/"), {"POST": PUBLIC}),
    "password/": Rule(fixed("/password/"), {"GET": AGENTS}),
    # API tokens: one's own (an admin sees and revokes everyone's); creating asks the factor again.
    "tokens/": Rule(fixed("/tokens/"), {"GET": AGENTS}),
    # One's own language and timezone.
    "profile/": Rule(fixed("/profile/"), {"GET": AGENTS}),
    # A person's export, once, by the link given to the manager who asked (the link is the key).
    "privacy/exports/<str:secret>/": Rule(fixed("/privacy/exports/not-a-link/"), {"GET": PUBLIC}),
    "tokens/new/": Rule(fixed("/tokens/new/"), {"POST": AGENTS}),
    "tokens/<int:token_id>/revoke/": Rule(
        lambda w: f"/tokens/{_agent_token_id(w)}/revoke/",
        {"POST": AGENTS},  # others: 404
    ),
    "password/done/": Rule(fixed("/password/done/"), {"GET": AGENTS}),
    "outbox/": Rule(fixed("/outbox/"), {"GET": AGENTS}),
    "outbox/<int:pk>/": Rule(lambda w: f"/outbox/{w.captured.pk}/", {"GET": AGENTS}),
    "": Rule(fixed("/"), {"GET": PUBLIC}),  # a redirect to the inbox, which checks
    "inbox/": Rule(fixed("/inbox/"), {"GET": AGENTS}),
    "tickets/<int:pk>/": Rule(lambda w: f"/tickets/{w.ticket.pk}/", {"GET": AGENTS}),
    "tickets/<int:pk>/reply": Rule(lambda w: f"/tickets/{w.ticket.pk}/reply", {"POST": AGENTS}),
    "tickets/<int:pk>/update": Rule(lambda w: f"/tickets/{w.ticket.pk}/update", {"POST": AGENTS}),
    "tickets/<int:pk>/contact-kind": Rule(
        lambda w: f"/tickets/{w.ticket.pk}/contact-kind", {"POST": AGENTS}
    ),
    "tickets/<int:pk>/follow-ups": Rule(
        lambda w: f"/tickets/{w.ticket.pk}/follow-ups", {"POST": AGENTS}
    ),
    "tickets/<int:pk>/follow-ups/<int:follow_up_id>/cancel": Rule(
        lambda w: f"/tickets/{w.ticket.pk}/follow-ups/{w.follow_up.pk}/cancel", {"POST": AGENTS}
    ),
    # Served to agents, and to the visitor or customer of its own conversation; everyone else
    # gets 404 (which this table counts as answered): tests/attachments/test_access.py.
    "attachments/<int:pk>/": Rule(lambda w: f"/attachments/{w.attachment.pk}/", {"GET": PUBLIC}),
    "attachments/<int:pk>/thumbnail": Rule(
        lambda w: f"/attachments/{w.attachment.pk}/thumbnail", {"GET": PUBLIC}
    ),
    "inbox/bulk": Rule(fixed("/inbox/bulk"), {"POST": AGENTS}),
    "inbox/views": Rule(fixed("/inbox/views"), {"POST": AGENTS}),
    "inbox/counts": Rule(fixed("/inbox/counts"), {"GET": AGENTS}),
    "inbox/bulk/<int:pk>": Rule(lambda w: "/inbox/bulk/999999", {"GET": AGENTS}),
    "tickets/<int:pk>/merge": Rule(lambda w: f"/tickets/{w.ticket.pk}/merge", {"POST": AGENTS}),
    "tickets/<int:pk>/spam": Rule(lambda w: f"/tickets/{w.ticket.pk}/spam", {"POST": AGENTS}),
    "tickets/<int:pk>/merge-contact": Rule(
        lambda w: f"/tickets/{w.ticket.pk}/merge-contact", {"POST": AGENTS}
    ),
    "support/new": Rule(fixed("/support/new"), {"GET": PUBLIC, "POST": PUBLIC}),
    "support/thanks": Rule(fixed("/support/thanks"), {"GET": PUBLIC}),
    "widget.js": Rule(fixed("/widget.js"), {"GET": PUBLIC}),
    "demo/shop/": Rule(fixed("/demo/shop/"), {"GET": PUBLIC}),
    "chats/": Rule(fixed("/chats/"), {"GET": AGENTS}),
    "wall/": Rule(fixed("/wall/"), {"GET": AGENTS}),
    "wall/new": Rule(fixed("/wall/new"), {"GET": AGENTS, "POST": AGENTS}),
    "wall/<int:story_id>/celebrate": Rule(
        lambda w: f"/wall/{w.story.pk}/celebrate", {"POST": AGENTS}
    ),
    "reports/": Rule(fixed("/reports/"), {"GET": MANAGERS}),
    "audit/": Rule(fixed("/audit/"), {"GET": MANAGERS}),
    "audit/export.csv": Rule(fixed("/audit/export.csv"), {"GET": MANAGERS}),
    "wow/grant": Rule(
        lambda w: f"/wow/grant?ticket={w.ticket.pk}", {"GET": AGENTS, "POST": AGENTS}
    ),
    "wow/bonus": Rule(fixed("/wow/bonus"), {"GET": AGENTS, "POST": AGENTS}),
    "wow/grants/<int:grant_id>/undo": Rule(
        lambda w: f"/wow/grants/{w.grant.pk}/undo", {"POST": AGENTS}
    ),
    "wow/grants/<int:grant_id>/retry": Rule(
        lambda w: f"/wow/grants/{w.grant.pk}/retry", {"POST": AGENTS}
    ),
    # The signed link is the customer's credential: whoever holds it may rate, nobody else.
    "csat/<str:token>/": Rule(lambda w: f"/csat/{w.survey_token}/", {"GET": PUBLIC}),
    "csat/surveys/<int:pk>/resend": Rule(
        lambda w: f"/csat/surveys/{w.survey.pk}/resend", {"POST": AGENTS}
    ),
    "snippets/": Rule(fixed("/snippets/"), {"GET": AGENTS}),
    "snippets/new": Rule(fixed("/snippets/new"), {"GET": AGENTS, "POST": AGENTS}),
    "snippets/<int:snippet_id>/edit": Rule(
        lambda w: f"/snippets/{w.snippet.pk}/edit", {"GET": AGENTS, "POST": AGENTS}
    ),
    "mailboxes/": Rule(fixed("/mailboxes/"), {"GET": ADMINS}),
    "mailboxes/new": Rule(fixed("/mailboxes/new"), {"POST": ADMINS}),
    "mailboxes/<int:mailbox_id>/test": Rule(
        lambda w: f"/mailboxes/{w.mailbox.pk}/test", {"POST": ADMINS}
    ),
    "mailboxes/<int:mailbox_id>/pause": Rule(
        lambda w: f"/mailboxes/{w.mailbox.pk}/pause", {"POST": ADMINS}
    ),
    "mailboxes/<int:mailbox_id>/delete": Rule(
        lambda w: f"/mailboxes/{w.mailbox.pk}/delete", {"POST": ADMINS}
    ),
    "snippets/<int:snippet_id>/archive": Rule(
        lambda w: f"/snippets/{w.snippet.pk}/archive", {"POST": AGENTS}
    ),
    "help/": Rule(fixed("/help/"), {"GET": PUBLIC}),
    "help/search": Rule(fixed("/help/search?q=returns"), {"GET": PUBLIC}),
    "help/sitemap.xml": Rule(fixed("/help/sitemap.xml"), {"GET": PUBLIC}),
    "help/categories/<slug:slug>/": Rule(
        lambda w: f"/help/categories/{w.article.category.slug}/", {"GET": PUBLIC}
    ),
    "help/articles/<int:pk>-<slug:slug>/": Rule(
        lambda w: w.article.get_absolute_url(), {"GET": PUBLIC}
    ),
    "help/articles/<int:pk>/feedback": Rule(
        lambda w: f"/help/articles/{w.article.pk}/feedback", {"POST": PUBLIC}
    ),
    "help/manage/": Rule(fixed("/help/manage/"), {"GET": AGENTS}),
    "help/manage/new": Rule(fixed("/help/manage/new"), {"GET": AGENTS}),
    "help/manage/preview": Rule(fixed("/help/manage/preview"), {"POST": AGENTS}),
    "help/manage/report": Rule(fixed("/help/manage/report"), {"GET": AGENTS}),
    "help/manage/<int:pk>/edit": Rule(
        lambda w: f"/help/manage/{w.article.pk}/edit", {"GET": AGENTS}
    ),
    "help/manage/<int:pk>/status": Rule(
        lambda w: f"/help/manage/{w.article.pk}/status", {"POST": AGENTS}
    ),
    "help/manage/<int:pk>/history": Rule(
        lambda w: f"/help/manage/{w.article.pk}/history", {"GET": AGENTS}
    ),
    "hours/": Rule(fixed("/hours/"), {"GET": ADMINS}),
    "teams/": Rule(fixed("/teams/"), {"GET": MANAGERS, "POST": MANAGERS}),
    "team/": Rule(fixed("/team/"), {"GET": AGENTS}),
    "team/heartbeat": Rule(fixed("/team/heartbeat"), {"POST": AGENTS}),
    # One's own page, or anyone's for managers.
    "team/<int:user_id>/": Rule(
        lambda w: f"/team/{w.users['agent'].pk}/",
        {"GET": {**MANAGERS, "agent": "ok"}},
    ),
}

# Included URL confs matched as one prefix: the Django admin is for admins only.
PREFIXES: dict[str, Rule] = {
    "admin/": Rule(fixed("/admin/"), {"GET": ADMINS}),
    # allauth: second factors, reauthentication, sign-in codes, single sign-on (accounts/).
    "accounts/": Rule(fixed("/accounts/2fa/"), {"GET": AGENTS}),
}

# API operations, as "METHOD /api/v1/path" from the OpenAPI schema.
API: dict[str, Rule] = {
    # The shop's integration token only (issue_shop_token): a person's credentials get 403.
    "POST /api/v1/orders": Rule(fixed("/api/v1/orders"), {"POST": allow()}),
    "GET /api/v1/customers/{customer_id}": Rule(
        lambda w: f"/api/v1/customers/{w.customer.pk}", {"GET": AGENTS}
    ),
    "PATCH /api/v1/customers/{customer_id}": Rule(
        lambda w: f"/api/v1/customers/{w.customer.pk}", {"PATCH": AGENTS}
    ),
    "POST /api/v1/tickets": Rule(fixed("/api/v1/tickets"), {"POST": AGENTS}),
    "GET /api/v1/tickets": Rule(fixed("/api/v1/tickets"), {"GET": AGENTS}),
    "GET /api/v1/tickets/{ticket_id}": Rule(
        lambda w: f"/api/v1/tickets/{w.ticket.pk}", {"GET": AGENTS}
    ),
    "PATCH /api/v1/tickets/{ticket_id}": Rule(
        lambda w: f"/api/v1/tickets/{w.ticket.pk}", {"PATCH": AGENTS}
    ),
    "POST /api/v1/tickets/{ticket_id}/replies": Rule(
        lambda w: f"/api/v1/tickets/{w.ticket.pk}/replies", {"POST": AGENTS}
    ),
    "POST /api/v1/tickets/{ticket_id}/follow-ups": Rule(
        lambda w: f"/api/v1/tickets/{w.ticket.pk}/follow-ups", {"POST": AGENTS}
    ),
    "POST /api/v1/widget/sessions": Rule(fixed("/api/v1/widget/sessions"), {"POST": PUBLIC}),
    # The visitor token proves the chat; the code emailed to the claimed address proves the rest.
    "POST /api/v1/widget/verification": Rule(
        fixed("/api/v1/widget/verification"), {"POST": allow("visitor")}
    ),
    "POST /api/v1/widget/verification/confirm": Rule(
        fixed("/api/v1/widget/verification/confirm"), {"POST": allow("visitor")}
    ),
    "POST /api/v1/agents/{agent_id}/deactivate": Rule(
        lambda w: f"/api/v1/agents/{w.users['agent'].pk}/deactivate", {"POST": ADMINS}
    ),
    "GET /api/v1/widget/status": Rule(fixed("/api/v1/widget/status"), {"GET": PUBLIC}),
    "GET /api/v1/widget/strings": Rule(fixed("/api/v1/widget/strings?lang=es"), {"GET": PUBLIC}),
    "POST /api/v1/widget/offline": Rule(fixed("/api/v1/widget/offline"), {"POST": PUBLIC}),
    "POST /api/v1/widget/csat": Rule(fixed("/api/v1/widget/csat"), {"POST": PUBLIC}),
    "POST /api/v1/widget/uploads": Rule(
        fixed("/api/v1/widget/uploads"), {"POST": allow("visitor")}
    ),
    "POST /api/v1/uploads": Rule(fixed("/api/v1/uploads"), {"POST": AGENTS}),
    "GET /api/v1/chats": Rule(fixed("/api/v1/chats"), {"GET": AGENTS}),
    "GET /api/v1/chats/{chat_id}": Rule(
        lambda w: f"/api/v1/chats/{w.conversation.pk}", {"GET": AGENTS}
    ),
    "POST /api/v1/chats/{chat_id}/join": Rule(
        lambda w: f"/api/v1/chats/{w.conversation.pk}/join", {"POST": AGENTS}
    ),
    "POST /api/v1/chats/{chat_id}/messages": Rule(
        lambda w: f"/api/v1/chats/{w.conversation.pk}/messages", {"POST": AGENTS}
    ),
    "POST /api/v1/chats/{chat_id}/transfer": Rule(
        lambda w: f"/api/v1/chats/{w.conversation.pk}/transfer", {"POST": AGENTS}
    ),
    "POST /api/v1/chats/{chat_id}/end": Rule(
        lambda w: f"/api/v1/chats/{w.conversation.pk}/end", {"POST": AGENTS}
    ),
    "POST /api/v1/chats/{chat_id}/escalate": Rule(
        lambda w: f"/api/v1/chats/{w.conversation.pk}/escalate", {"POST": AGENTS}
    ),
    "POST /api/v1/wow/grants": Rule(fixed("/api/v1/wow/grants"), {"POST": AGENTS}),
    # Everyone's grants with amounts: managers (agents list one customer's or their own).
    "GET /api/v1/wow/grants": Rule(fixed("/api/v1/wow/grants"), {"GET": MANAGERS}),
    "GET /api/v1/wow/grants/{grant_id}": Rule(
        lambda w: f"/api/v1/wow/grants/{w.grant.pk}", {"GET": AGENTS}
    ),
    "POST /api/v1/wow/grants/{grant_id}/undo": Rule(
        lambda w: f"/api/v1/wow/grants/{w.grant.pk}/undo", {"POST": AGENTS}
    ),
    "POST /api/v1/wow/grants/{grant_id}/retry": Rule(
        lambda w: f"/api/v1/wow/grants/{w.grant.pk}/retry", {"POST": AGENTS}
    ),
    "POST /api/v1/wow/stories": Rule(fixed("/api/v1/wow/stories"), {"POST": AGENTS}),
    "GET /api/v1/wow/stories": Rule(fixed("/api/v1/wow/stories"), {"GET": AGENTS}),
    "GET /api/v1/wow/stories/{story_id}": Rule(
        lambda w: f"/api/v1/wow/stories/{w.story.pk}", {"GET": AGENTS}
    ),
    "POST /api/v1/wow/stories/{story_id}/celebrate": Rule(
        lambda w: f"/api/v1/wow/stories/{w.story.pk}/celebrate", {"POST": AGENTS}
    ),
    "POST /api/v1/inbound/email": Rule(fixed("/api/v1/inbound/email"), {"POST": SIGNED}),
    "GET /api/v1/snippets": Rule(fixed("/api/v1/snippets"), {"GET": AGENTS}),
    "POST /api/v1/snippets": Rule(fixed("/api/v1/snippets"), {"POST": AGENTS}),
    "GET /api/v1/snippets/{snippet_id}": Rule(
        lambda w: f"/api/v1/snippets/{w.snippet.pk}", {"GET": AGENTS}
    ),
    "PATCH /api/v1/snippets/{snippet_id}": Rule(
        lambda w: f"/api/v1/snippets/{w.snippet.pk}", {"PATCH": AGENTS}
    ),
    "POST /api/v1/snippets/{snippet_id}/use": Rule(
        lambda w: f"/api/v1/snippets/{w.snippet.pk}/use", {"POST": AGENTS}
    ),
    "GET /api/v1/help/articles": Rule(fixed("/api/v1/help/articles?q=returns"), {"GET": PUBLIC}),
    "POST /api/v1/help/articles": Rule(fixed("/api/v1/help/articles"), {"POST": AGENTS}),
    "GET /api/v1/help/articles/{article_id}": Rule(
        lambda w: f"/api/v1/help/articles/{w.article.pk}", {"GET": AGENTS}
    ),
    "PATCH /api/v1/help/articles/{article_id}": Rule(
        lambda w: f"/api/v1/help/articles/{w.article.pk}", {"PATCH": AGENTS}
    ),
    "POST /api/v1/help/articles/{article_id}/feedback": Rule(
        lambda w: f"/api/v1/help/articles/{w.article.pk}/feedback", {"POST": PUBLIC}
    ),
    "GET /api/v1/mailboxes": Rule(fixed("/api/v1/mailboxes"), {"GET": ADMINS}),
    "POST /api/v1/mailboxes": Rule(fixed("/api/v1/mailboxes"), {"POST": ADMINS}),
    "GET /api/v1/mailboxes/{mailbox_id}": Rule(
        lambda w: f"/api/v1/mailboxes/{w.mailbox.pk}", {"GET": ADMINS}
    ),
    "PATCH /api/v1/mailboxes/{mailbox_id}": Rule(
        lambda w: f"/api/v1/mailboxes/{w.mailbox.pk}", {"PATCH": ADMINS}
    ),
    "DELETE /api/v1/mailboxes/{mailbox_id}": Rule(
        lambda w: f"/api/v1/mailboxes/{w.mailbox.pk}", {"DELETE": ADMINS}
    ),
    "POST /api/v1/mailboxes/{mailbox_id}/test": Rule(
        lambda w: f"/api/v1/mailboxes/{w.mailbox.pk}/test", {"POST": ADMINS}
    ),
    "GET /api/v1/audit": Rule(fixed("/api/v1/audit"), {"GET": MANAGERS}),
    "GET /api/v1/business-hours": Rule(fixed("/api/v1/business-hours"), {"GET": PUBLIC}),
    "PUT /api/v1/business-hours": Rule(fixed("/api/v1/business-hours"), {"PUT": ADMINS}),
    "DELETE /api/v1/business-hours": Rule(fixed("/api/v1/business-hours"), {"DELETE": ADMINS}),
    "GET /api/v1/widget/orders": Rule(fixed("/api/v1/widget/orders"), {"GET": VERIFIED_VISITOR}),
    "GET /api/v1/widget/orders/{external_id}": Rule(
        fixed("/api/v1/widget/orders/ORD-1"), {"GET": VERIFIED_VISITOR}
    ),
    "POST /api/v1/widget/orders/{external_id}/ask": Rule(
        fixed("/api/v1/widget/orders/ORD-1/ask"), {"POST": VERIFIED_VISITOR}
    ),
    "GET /api/v1/widget/history": Rule(fixed("/api/v1/widget/history"), {"GET": VERIFIED_VISITOR}),
    "GET /api/v1/widget/history/chats/{chat_id}": Rule(
        lambda w: f"/api/v1/widget/history/chats/{w.conversation.pk}", {"GET": VERIFIED_VISITOR}
    ),
    "POST /api/v1/widget/history/tickets/{ticket_id}/reopen": Rule(
        lambda w: f"/api/v1/widget/history/tickets/{w.ticket.pk}/reopen", {"POST": VERIFIED_VISITOR}
    ),
    "GET /api/v1/team/hours": Rule(fixed("/api/v1/team/hours"), {"GET": AGENTS}),
    "GET /api/v1/team/tickets/{ticket_id}/handle-time": Rule(
        lambda w: f"/api/v1/team/tickets/{w.ticket.pk}/handle-time", {"GET": AGENTS}
    ),
    "POST /api/v1/tickets/bulk": Rule(fixed("/api/v1/tickets/bulk"), {"POST": AGENTS}),
    "GET /api/v1/tickets/bulk/{job_id}": Rule(
        fixed("/api/v1/tickets/bulk/999999"), {"GET": AGENTS}
    ),
    "POST /api/v1/tickets/{ticket_id}/merge": Rule(
        lambda w: f"/api/v1/tickets/{w.ticket.pk}/merge", {"POST": AGENTS}
    ),
    "POST /api/v1/tickets/{ticket_id}/spam": Rule(
        lambda w: f"/api/v1/tickets/{w.ticket.pk}/spam", {"POST": AGENTS}
    ),
    "POST /api/v1/tickets/{ticket_id}/not-spam": Rule(
        lambda w: f"/api/v1/tickets/{w.ticket.pk}/not-spam", {"POST": AGENTS}
    ),
    "POST /api/v1/customers/{customer_id}/merge": Rule(
        lambda w: f"/api/v1/customers/{w.customer.pk}/merge", {"POST": AGENTS}
    ),
    "GET /api/v1/blocked-senders": Rule(fixed("/api/v1/blocked-senders"), {"GET": ADMINS}),
    "POST /api/v1/blocked-senders": Rule(fixed("/api/v1/blocked-senders"), {"POST": ADMINS}),
    "DELETE /api/v1/blocked-senders/{blocked_id}": Rule(
        fixed("/api/v1/blocked-senders/999999"), {"DELETE": ADMINS}
    ),
    "GET /api/v1/views": Rule(fixed("/api/v1/views"), {"GET": AGENTS}),
    "POST /api/v1/views": Rule(fixed("/api/v1/views"), {"POST": AGENTS}),
    "GET /api/v1/exports/tickets.csv": Rule(
        fixed("/api/v1/exports/tickets.csv"), {"GET": MANAGERS}
    ),
    "GET /api/v1/exports/grants.csv": Rule(fixed("/api/v1/exports/grants.csv"), {"GET": MANAGERS}),
    "GET /api/v1/exports/csat.csv": Rule(fixed("/api/v1/exports/csat.csv"), {"GET": MANAGERS}),
    "GET /api/v1/exports/hours.csv": Rule(fixed("/api/v1/exports/hours.csv"), {"GET": MANAGERS}),
    "POST /api/v1/webhooks": Rule(fixed("/api/v1/webhooks"), {"POST": ADMINS}),
    "GET /api/v1/webhooks": Rule(fixed("/api/v1/webhooks"), {"GET": ADMINS}),
    "GET /api/v1/webhooks/{webhook_id}/deliveries": Rule(
        fixed("/api/v1/webhooks/999999/deliveries"), {"GET": ADMINS}
    ),
    "POST /api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": Rule(
        fixed("/api/v1/webhooks/999999/deliveries/1/redeliver"), {"POST": ADMINS}
    ),
    "POST /api/v1/webhooks/{webhook_id}/enable": Rule(
        fixed("/api/v1/webhooks/999999/enable"), {"POST": ADMINS}
    ),
    "GET /api/v1/team/chats/{chat_id}/handle-time": Rule(
        lambda w: f"/api/v1/team/chats/{w.conversation.pk}/handle-time", {"GET": AGENTS}
    ),
    # accounts/: tokens (a token never makes a token: the second factor must be fresh), resets.
    "GET /api/v1/tokens": Rule(fixed("/api/v1/tokens"), {"GET": AGENTS}),
    "POST /api/v1/tokens": Rule(fixed("/api/v1/tokens"), {"POST": allow()}),
    "POST /api/v1/tokens/{token_id}/revoke": Rule(
        lambda w: f"/api/v1/tokens/{_agent_token_id(w)}/revoke",
        {"POST": AGENTS},  # others: 404
    ),
    "POST /api/v1/agents/{user_id}/reset-factors": Rule(
        lambda w: f"/api/v1/agents/{w.users['agent'].pk}/reset-factors", {"POST": ADMINS}
    ),
    # teams/: everyone reads teams, managers change them and agents' chat capacity.
    "GET /api/v1/teams": Rule(fixed("/api/v1/teams"), {"GET": AGENTS}),
    "POST /api/v1/teams": Rule(fixed("/api/v1/teams"), {"POST": MANAGERS}),
    "GET /api/v1/teams/{team_id}": Rule(fixed("/api/v1/teams/999999"), {"GET": AGENTS}),
    "PATCH /api/v1/teams/{team_id}": Rule(fixed("/api/v1/teams/999999"), {"PATCH": MANAGERS}),
    "DELETE /api/v1/teams/{team_id}": Rule(fixed("/api/v1/teams/999999"), {"DELETE": MANAGERS}),
    "PATCH /api/v1/teams/agents/{user_id}": Rule(
        lambda w: f"/api/v1/teams/agents/{w.users['agent'].pk}", {"PATCH": MANAGERS}
    ),
    # privacy/: export (manager), erasure (admin).
    "GET /api/v1/customers/{customer_id}/export": Rule(
        lambda w: f"/api/v1/customers/{w.customer.pk}/export", {"GET": MANAGERS}
    ),
    "GET /api/v1/privacy/exports/{job_id}": Rule(
        lambda w: f"/api/v1/privacy/exports/{_export_job_id(w)}", {"GET": MANAGERS}
    ),
    "POST /api/v1/customers/{customer_id}/erase": Rule(
        lambda w: f"/api/v1/customers/{w.customer.pk}/erase", {"POST": ADMINS}
    ),
}
