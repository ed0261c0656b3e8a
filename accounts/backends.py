"""The authentication backends: Django's and allauth's, with the signed-in user's row read by one
plain statement on every request instead of a queryset.

Every agent page and session API call loads its user (`ModelBackend.get_user`: the row by id,
then `user_can_authenticate`); building and compiling that queryset was ~0.2 ms of the
request's CPU. Here the row is read fresh from the database on every request all the same (the
same columns, into the same model through `User.from_db`), so a password change (Django then
refuses the session's hash), a deactivation or a role change counts at once, as before; only
the query's Python is done once. Postgres only, and only while no column needs a converter
(`from_db_value`); otherwise, and for an id that is not a number, the ORM's query as before.

The session remembers the backend that signed its user in, by path: sessions made before these
classes replaced Django's and allauth's in AUTHENTICATION_BACKENDS sign in again once.
"""

from __future__ import annotations

import functools
from typing import Any

from allauth.account import auth_backends as allauth_backends
from django.contrib.auth import backends
from django.db import connection

from accounts.models import User
from core import db


@functools.cache
def _user_statement() -> tuple[str, tuple[str, ...]] | None:
    """The SQL that reads a user's row by id, and the attribute of each column; None when the
    ORM must read it (not Postgres, or a field whose values need converting)."""
    fields = User._meta.concrete_fields
    if connection.vendor != "postgresql" or any(hasattr(f, "from_db_value") for f in fields):
        return None
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    table, pk = quote(User._meta.db_table), quote(str(User._meta.pk.column))
    return f"SELECT {columns} FROM {table} WHERE {pk} = %s", tuple(f.attname for f in fields)  # noqa: S608  (names from the model)


def fresh_user(user_id: Any) -> tuple[bool, User | None]:
    """(True, the user with this id read now, or None if there is none), or (False, None) when
    the ORM must read it."""
    statement = _user_statement()
    if statement is None or isinstance(user_id, bool):
        return False, None
    try:
        pk = int(user_id)
    except (TypeError, ValueError):
        return False, None
    sql, attnames = statement
    row = db.fetch_one(sql, [pk])
    return True, None if row is None else User.from_db(connection.alias, list(attnames), row)


class _FreshUserRow:
    def get_user(self, user_id: Any) -> User | None:
        read, user = fresh_user(user_id)
        if not read:
            return super().get_user(user_id)  # type: ignore[misc]  # the ORM's query, as before
        if user is None or not self.user_can_authenticate(user):  # type: ignore[attr-defined]  # ModelBackend's
            return None
        return user


class ModelBackend(_FreshUserRow, backends.ModelBackend):
    """Django's ModelBackend (`accounts.backends` module docstring)."""


class AuthenticationBackend(_FreshUserRow, allauth_backends.AuthenticationBackend):
    """allauth's backend (`accounts.backends` module docstring)."""
