from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import ApiToken, User, hash_token

pytestmark = pytest.mark.django_db


def test_create_agent_makes_a_user_with_the_role_and_group():
    call_command(
        "create_agent",
        "Eve@Example.com",
        "--role",
        "manager",
        "--password",
        "s3cret-pass!",
        stdout=StringIO(),
    )

    eve = User.objects.get(email="eve@example.com")
    assert eve.role == "manager"
    assert eve.check_password("s3cret-pass!")
    assert list(eve.groups.values_list("name", flat=True)) == ["manager"]
    assert eve.has_role("agent") and not eve.has_role("admin")


def test_issue_api_token_prints_the_token_last_and_stores_only_its_hash():
    call_command(
        "create_agent",
        "eve@example.com",
        "--role",
        "agent",
        "--password",
        "s3cret-pass!",
        stdout=StringIO(),
    )
    out = StringIO()

    call_command("issue_api_token", "eve@example.com", stdout=out)

    token = out.getvalue().strip().splitlines()[-1]
    assert token.startswith("sd_")
    stored = ApiToken.objects.get()
    assert stored.digest == hash_token(token)
    assert token not in (stored.digest, stored.prefix)


def test_bearer_token_authenticates_the_api_and_a_wrong_one_gets_401(client):
    call_command(
        "create_agent",
        "eve@example.com",
        "--role",
        "agent",
        "--password",
        "s3cret-pass!",
        stdout=StringIO(),
    )
    out = StringIO()
    call_command("issue_api_token", "eve@example.com", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]

    ok = client.get("/api/v1/tickets", HTTP_AUTHORIZATION=f"Bearer {token}")
    forged = client.get("/api/v1/tickets", HTTP_AUTHORIZATION="Bearer sd_forged")
    anonymous = client.get("/api/v1/tickets")

    assert ok.status_code == 200
    assert forged.status_code == 401 and forged.json()["code"] == "unauthorized"
    assert anonymous.status_code == 401
