"""The audit log: written by the services in the change's transaction, append-only on Postgres,
read by managers through the API, the /audit/ page and its CSV export."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from accounts.services import issue_api_token
from audit.models import AuditEntry, AuditLogError
from audit.services import record
from tests import factories
from tickets import services as ticket_services
from wow_credits import services as grant_services


def bearer(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(user)}", HTTP_USER_AGENT="curl/8")


def test_a_ticket_change_through_the_api_names_the_token_ip_and_fields(cast):
    ticket = factories.TicketFactory()
    client = bearer(cast.alice)
    response = client.patch(
        f"/api/v1/tickets/{ticket.pk}",
        json.dumps({"status": "pending", "priority": "high"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    entry = AuditEntry.objects.get(action="ticket.updated", object_id=str(ticket.pk))
    assert entry.actor == "alice@example.com" and entry.actor_id == cast.alice.pk
    assert entry.token_prefix.startswith("sd_") and entry.via == "api"
    assert entry.ip == "127.0.0.1" and entry.user_agent == "curl/8"
    assert entry.detail["changes"]["status"] == ["new", "pending"]
    assert entry.detail["changes"]["priority"] == ["normal", "high"]
    assert "subject" not in entry.detail["changes"]


def test_a_reply_is_an_event_without_its_body(cast):
    ticket = factories.TicketFactory()
    ticket_services.add_agent_reply(ticket, by=cast.alice, body_text="my secret card is 4242")
    entry = AuditEntry.objects.get(action="message.created")
    assert entry.detail["ticket"] == ticket.pk
    assert "4242" not in json.dumps(entry.detail)


def test_an_entry_rolls_back_with_its_change(cast):
    ticket = factories.TicketFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        ticket_services.set_status(ticket, status="solved", by=cast.alice)
        raise RuntimeError("the change fails after the audit row was written")
    assert not AuditEntry.objects.filter(action="ticket.updated").exists()


def test_grants_and_undos_are_audited(cast):
    order = factories.OrderFactory(total=Decimal("80.00"))
    grant, _ = grant_services.grant(
        "refund", by=cast.alice, order=order, amount="30", reason="late", idempotency_key="a1"
    )
    grant_services.undo_grant(grant, by=cast.bob)
    created = AuditEntry.objects.get(action="grant.created")
    assert created.actor_id == cast.alice.pk and created.detail["amount"] == "30.00"
    undone = AuditEntry.objects.get(action="grant.undone")
    assert undone.actor_id == cast.bob.pk and undone.object_id == str(grant.pk)


def test_secrets_are_never_stored(cast):
    entry = record(
        "settings.changed",
        object_type="mailbox",
        object_id=1,
        changes={"imap_password": ("old", "new"), "host": ("a", "b")},
        detail={"api_secret": "x"},
    )
    assert entry.detail["changes"]["imap_password"] == ["[redacted]", "[redacted]"]
    assert entry.detail["changes"]["host"] == ["a", "b"]
    assert entry.detail["api_secret"] == "[redacted]"


def test_logins_and_failed_logins_are_audited(cast):
    client = Client(HTTP_USER_AGENT="Firefox")
    client.post("/login/", {"username": "alice@example.com", "password": "wrong"})
    client.post("/login/", {"username": "alice@example.com", "password": cast.password})
    failed = AuditEntry.objects.get(action="auth.login_failed")
    assert failed.detail == {"tried": "alice@example.com"} and failed.user_agent == "Firefox"
    assert "wrong" not in json.dumps(failed.detail)
    assert AuditEntry.objects.get(action="auth.login").actor_id == cast.alice.pk


def test_the_model_refuses_edits_and_deletes(cast):
    entry = record("ticket.updated", object_type="ticket", object_id=1)
    with pytest.raises(AuditLogError):
        entry.save()
    with pytest.raises(AuditLogError):
        entry.delete()
    with pytest.raises(AuditLogError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AuditLogError):
        AuditEntry.objects.filter(pk=entry.pk).delete()


@pytest.mark.django_db
def test_postgres_trigger_refuses_update_and_delete_from_any_client():
    entry = record("ticket.updated", object_type="ticket", object_id=1)
    for statement in (
        "UPDATE audit_auditentry SET action = 'forged' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "ticket.updated"


def test_api_filters_and_keyset_pages_for_managers(cast):
    for n in range(5):
        record("ticket.updated", object_type="ticket", object_id=n, actor=cast.alice)
    record("grant.created", object_type="grant", object_id=9, actor=cast.bob)
    client = bearer(cast.carol)
    first = client.get("/api/v1/audit?action=ticket.updated&limit=2").json()
    assert [i["object_id"] for i in first["items"]] == ["4", "3"]
    second = client.get(
        f"/api/v1/audit?action=ticket.updated&limit=2&cursor={first['next_cursor']}"
    )
    assert [i["object_id"] for i in second.json()["items"]] == ["2", "1"]
    third = client.get(
        f"/api/v1/audit?action=ticket.updated&limit=2&cursor={second.json()['next_cursor']}"
    ).json()
    assert [i["object_id"] for i in third["items"]] == ["0"] and third["next_cursor"] is None
    by_actor = client.get("/api/v1/audit?actor=bob@example.com").json()["items"]
    assert [i["action"] for i in by_actor] == ["grant.created"]
    prefix = client.get("/api/v1/audit?action=grant.&object_type=grant&object_id=9").json()
    assert len(prefix["items"]) == 1
    assert client.get("/api/v1/audit?cursor=abc").status_code == 400


def test_agents_may_not_read_the_audit_log(cast):
    assert bearer(cast.alice).get("/api/v1/audit").status_code == 403
    client = Client()
    client.force_login(cast.alice)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_page_and_csv_for_managers(cast):
    record("customer.merged", object_type="customer", object_id=7, actor=cast.alice)
    client = Client()
    client.force_login(cast.carol)
    page = client.get("/audit/?object_type=customer")
    assert page.status_code == 200 and b"customer.merged" in page.content
    response = client.get("/audit/export.csv?object_type=customer")
    body = b"".join(response.streaming_content).decode()
    lines = body.strip().splitlines()
    assert lines[0].startswith("id,at,actor") and "customer.merged" in lines[1]
    # Exporting the log is itself audited.
    assert AuditEntry.objects.filter(action="audit.exported", actor_id=cast.carol.pk).exists()


def test_token_creation_and_admin_powers_are_audited(cast):
    issue_api_token(cast.alice)
    assert AuditEntry.objects.filter(action="token.created", object_type="apitoken").exists()
    client = Client()
    client.force_login(cast.dave)
    response = client.post(
        f"/admin/accounts/user/{cast.bob.pk}/change/",
        {
            "email": cast.bob.email,
            "name": "Bob Renamed",
            "role": "agent",
            "team": "",
            "max_chats": 3,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "groups": [],
        },
    )
    assert response.status_code == 302, response.content[:2000]
    entry = AuditEntry.objects.get(action="admin.changed")
    assert entry.actor_id == cast.dave.pk and entry.object_id == str(cast.bob.pk)


def test_webhook_enable_and_redelivery_are_audited(cast, settings):
    from webhooks import services as webhooks
    from webhooks.models import Delivery, Webhook

    settings.SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE = True
    hook = webhooks.create_webhook(
        url="http://127.0.0.1:9/hook", events=[], secret="s3cret-s3cret-s3cret", by=cast.dave
    )
    webhooks.record_event(type="ticket.created", object_key="ticket:1", data={"id": 1})
    Webhook.objects.filter(pk=hook.pk).update(active=False)
    delivery = Delivery.objects.get(webhook=hook)
    admin = bearer(cast.dave)

    assert admin.post(f"/api/v1/webhooks/{hook.pk}/enable").status_code == 200
    assert (
        admin.post(f"/api/v1/webhooks/{hook.pk}/deliveries/{delivery.pk}/redeliver").status_code
        == 200
    )

    enabled = AuditEntry.objects.get(action="webhook.enabled", object_id=str(hook.pk))
    assert enabled.actor_id == cast.dave.pk and enabled.detail["changes"]["active"] == [False, True]
    again = AuditEntry.objects.get(action="webhook.redelivered", object_id=str(hook.pk))
    assert again.actor_id == cast.dave.pk and again.detail["delivery"] == delivery.pk
