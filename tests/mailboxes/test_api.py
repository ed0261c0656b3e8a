"""The mailboxes API and add_mailbox: admins only, secrets in but never out, stored encrypted."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.services import issue_api_token
from core.secrets import decrypt
from mailboxes.models import Mailbox
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "s3cret-imap-pw"
SMTP_SECRET = "s3cret-smtp-pw"


@pytest.fixture
def admin_client(cast) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(cast.dave)}")


def _body(imap_server, folder: str = "INBOX", **extra) -> dict:
    return {
        "address": "support@shop.test",
        "name": "Shop support",
        "imap": {
            "host": imap_server.host,
            "port": imap_server.port,
            "username": imap_server.user,
            "password": imap_server.password,
            "security": "none",
            "folder": folder,
        },
        "smtp": {"host": "smtp.shop.test", "port": 587, "username": "u", "password": SMTP_SECRET},
        **extra,
    }


def _post(client: Client, path: str, body: dict | None = None, method: str = "post"):
    return getattr(client, method)(
        path, data=json.dumps(body or {}), content_type="application/json"
    )


def test_an_admin_adds_a_mailbox_and_lists_it_without_secrets(admin_client, imap_server) -> None:
    response = _post(admin_client, "/api/v1/mailboxes", _body(imap_server))

    assert response.status_code == 201, response.content
    created = response.json()
    listing = admin_client.get("/api/v1/mailboxes")
    assert listing.status_code == 200
    assert listing.json() == {
        "items": [
            {
                "id": created["id"],
                "address": "support@shop.test",
                "name": "Shop support",
                "last_fetch_at": None,
                "last_error": "",
                "fetched": 0,
            }
        ]
    }
    for body in (
        response.content,
        listing.content,
        admin_client.get(f"/api/v1/mailboxes/{created['id']}").content,
    ):
        assert imap_server.password.encode() not in body
        assert SMTP_SECRET.encode() not in body
        assert b"encrypted" not in body
    mailbox = Mailbox.objects.get(pk=created["id"])
    assert imap_server.password not in mailbox.imap_password_encrypted
    assert decrypt(mailbox.imap_password_encrypted) == imap_server.password
    assert decrypt(mailbox.smtp_password_encrypted) == SMTP_SECRET


def test_agents_and_managers_get_403(cast, imap_server) -> None:
    for user in (cast.alice, cast.carol):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(user)}")
        assert _post(client, "/api/v1/mailboxes", _body(imap_server)).status_code == 403
        assert client.get("/api/v1/mailboxes").status_code == 403
    assert not Mailbox.objects.exists()


def test_bad_input_gets_a_clear_error_and_stores_nothing(admin_client, imap_server) -> None:
    bad_security = _body(imap_server)
    bad_security["imap"]["security"] = "tls-please"
    assert _post(admin_client, "/api/v1/mailboxes", bad_security).status_code == 422
    bad_port = _body(imap_server)
    bad_port["imap"]["port"] = 70000
    assert _post(admin_client, "/api/v1/mailboxes", bad_port).status_code == 422
    no_password = _body(imap_server)
    no_password["imap"]["password"] = ""
    response = _post(admin_client, "/api/v1/mailboxes", no_password)
    assert response.status_code == 422 and "password" in response.json()["detail"]
    bad_host = _body(imap_server)
    bad_host["imap"]["host"] = "imap.shop.test\r\nX-Evil: 1"
    assert _post(admin_client, "/api/v1/mailboxes", bad_host).status_code == 422
    assert not Mailbox.objects.exists()
    assert _post(admin_client, "/api/v1/mailboxes", _body(imap_server)).status_code == 201
    again = _post(admin_client, "/api/v1/mailboxes", _body(imap_server))
    assert again.status_code == 409 and again.json()["code"] == "address_taken"


def test_test_endpoint_logs_in_and_reports(admin_client, imap_server, make_mail) -> None:
    folder = imap_server.new_folder()
    imap_server.append(folder, make_mail("t1"), make_mail("t2"))
    good = factories.mailbox(imap_server, folder)
    wrong = factories.mailbox(imap_server, folder, password="nope")

    ok = _post(admin_client, f"/api/v1/mailboxes/{good.pk}/test").json()
    failed = _post(admin_client, f"/api/v1/mailboxes/{wrong.pk}/test").json()

    assert ok == {"ok": True, "detail": ok["detail"], "messages": 2, "unseen": 2}
    assert failed["ok"] is False and "Login failed" in failed["detail"]
    assert "nope" not in failed["detail"]
    assert not any(b"\\Seen" in f for f in imap_server.flags(folder).values())  # read-only


def test_patch_pauses_changes_and_keeps_secrets_and_delete_keeps_tickets(
    admin_client, imap_server
) -> None:
    mailbox_id = _post(admin_client, "/api/v1/mailboxes", _body(imap_server)).json()["id"]
    factories.TicketFactory(mailbox_id=mailbox_id)

    paused = _post(
        admin_client, f"/api/v1/mailboxes/{mailbox_id}", {"active": False}, method="patch"
    )
    renamed = _post(
        admin_client,
        f"/api/v1/mailboxes/{mailbox_id}",
        {"name": "Returns", "imap": {**_body(imap_server)["imap"], "password": ""}},
        method="patch",
    )

    assert paused.json()["active"] is False
    assert renamed.status_code == 200 and renamed.json()["name"] == "Returns"
    mailbox = Mailbox.objects.get(pk=mailbox_id)
    assert decrypt(mailbox.imap_password_encrypted) == imap_server.password  # kept
    assert admin_client.delete(f"/api/v1/mailboxes/{mailbox_id}").status_code == 204
    assert not Mailbox.objects.exists()
    from tickets.models import Ticket

    assert Ticket.objects.get().mailbox_id is None


def test_add_mailbox_prints_the_id_last(imap_server) -> None:
    out = io.StringIO()
    call_command(
        "add_mailbox",
        "help@shop.test",
        "--imap-host",
        imap_server.host,
        "--imap-port",
        str(imap_server.port),
        "--imap-user",
        imap_server.user,
        "--imap-password",
        imap_server.password,
        "--imap-security",
        "none",
        "--folder",
        "INBOX",
        "--name",
        "Help",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        "2525",
        "--smtp-user",
        "help",
        "--smtp-password",
        SMTP_SECRET,
        "--smtp-security",
        "none",
        stdout=out,
    )

    last = out.getvalue().strip().splitlines()[-1]
    mailbox = Mailbox.objects.get(pk=int(last))
    assert (mailbox.address, mailbox.name, mailbox.smtp_port) == ("help@shop.test", "Help", 2525)
    assert imap_server.password not in out.getvalue() and SMTP_SECRET not in out.getvalue()
    with pytest.raises(CommandError, match="already"):
        call_command(
            "add_mailbox",
            "help@shop.test",
            "--imap-host",
            "h",
            "--imap-password",
            "p",
            stdout=io.StringIO(),
        )
