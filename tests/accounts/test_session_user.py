"""The signed-in user is read fresh on every request (accounts/backends.py reads the row with
one plain statement instead of a queryset): a password change, a deactivation or a new role
count on the very next request, exactly as with Django's ModelBackend."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.forms.models import model_to_dict
from django.test import Client

from accounts import backends
from accounts.models import User

pytestmark = pytest.mark.django_db


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get("/inbox/").status_code == 200
    return client


def test_the_user_read_is_the_row_the_orm_reads(cast):
    cast.alice.name = "Alice <Ops>"
    cast.alice.language = "de"
    cast.alice.save()
    fresh = backends.ModelBackend().get_user(str(cast.alice.pk))
    orm = User.objects.get(pk=cast.alice.pk)
    assert type(fresh) is User and fresh.pk == orm.pk
    assert model_to_dict(fresh) == model_to_dict(orm)
    assert (fresh.password, fresh.last_login, fresh.date_joined) == (
        orm.password,
        orm.last_login,
        orm.date_joined,
    )
    assert not fresh._state.adding and fresh._state.db == orm._state.db
    assert backends.ModelBackend().get_user(str(cast.alice.pk + 10_000)) is None
    assert backends.fresh_user(cast.alice.pk)[0]  # this path, not the ORM's


def test_a_password_change_ends_the_other_sessions_at_once(cast):
    client = _signed_in(cast.alice)
    cast.alice.set_password("a new and long passphrase")
    cast.alice.save()
    response = client.get("/inbox/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert SESSION_KEY not in client.session


def test_a_deactivated_agent_is_out_on_the_next_request(cast):
    client = _signed_in(cast.bob)
    User.objects.filter(pk=cast.bob.pk).update(is_active=False)  # behind the model's back too
    response = client.get("/inbox/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert backends.AuthenticationBackend().get_user(cast.bob.pk) is None


def test_a_new_role_shows_on_the_next_request(cast):
    client = _signed_in(cast.alice)
    assert client.get("/reports/").status_code == 403
    User.objects.filter(pk=cast.alice.pk).update(role="manager")
    assert client.get("/reports/").status_code == 200


def test_a_password_login_goes_through_these_backends(cast):
    client = Client()
    wrong = client.post("/login/", {"login": cast.alice.email, "password": "not it"})
    assert wrong.status_code == 200 and SESSION_KEY not in client.session  # the form again

    right = client.post("/login/", {"login": cast.alice.email, "password": "correct-horse-battery"})
    assert right.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == "accounts.backends.ModelBackend"
    assert client.get("/inbox/").status_code == 200
