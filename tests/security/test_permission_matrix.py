"""Every URL and API operation against every role, from the URL conf and the OpenAPI schema.

A route without a rule in permission_rules.py fails `test_every_route_has_a_rule` by name. Each
(route, method) runs once per role inside a rolled-back savepoint, so one role's POST cannot
change what the next role sees.
"""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver

from supportdesk.api import api
from tests.security.permission_rules import API, PAGES, PREFIXES, ROLES, STAFF, Rule

API_PREFIX = "api/v1/"


def _schema_operations() -> set[str]:
    schema = api.get_openapi_schema()
    return {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
    }


def _routes() -> tuple[set[str], set[str]]:
    """(Django routes outside the API operations, include-prefixes matched as one rule)."""
    schema_paths = {op.split(" ", 1)[1] for op in _schema_operations()}
    routes: set[str] = set()
    prefixes: set[str] = set()

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if route in PREFIXES:
                    prefixes.add(route)
                    continue
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                as_openapi = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
                if route.startswith(API_PREFIX) and as_openapi in schema_paths:
                    continue  # an API operation: checked against API below
                routes.add(route)

    walk(get_resolver().url_patterns, "")
    return routes, prefixes


def test_every_route_has_a_rule():
    routes, prefixes = _routes()
    operations = _schema_operations()
    missing = sorted(routes - PAGES.keys()) + sorted(operations - API.keys())
    stale = sorted(PAGES.keys() - routes) + sorted(API.keys() - operations)
    assert not missing, f"routes without a rule in tests/security/permission_rules.py: {missing}"
    assert not stale, f"rules for routes that no longer exist: {stale}"
    assert prefixes == PREFIXES.keys()


class _Rollback(Exception):
    pass


def _classify(role: str, response) -> str:
    status = response.status_code
    assert status < 500, f"{status} for {role}: {response.content[:500]!r}"
    location = response.get("Location", "")
    # login_required and the admin send people to a login page with ?next= (logout does not).
    if status == 401 or (status in (301, 302) and "login/" in location and "next=" in location):
        return "forbidden" if role in STAFF else "login"
    if status == 403:
        return "forbidden"
    return "ok"


def _check(world, key: str, rule: Rule, *, api_call: bool) -> None:
    path = rule.path(world)
    failures = []
    for method, expected in rule.methods.items():
        for role in ROLES:
            try:
                with transaction.atomic():
                    client = world.client(role, api=api_call)
                    if method == "GET":
                        response = client.get(path)
                    else:
                        response = client.generic(
                            method,
                            path,
                            b"{}" if api_call else b"",
                            "application/json" if api_call else "application/x-www-form-urlencoded",
                        )
                    outcome = _classify(role, response)
                    raise _Rollback
            except _Rollback:
                pass
            if outcome != expected[role]:
                failures.append(
                    f"{method} {path} as {role}: {outcome} ({response.status_code}), "
                    f"expected {expected[role]}"
                )
    assert not failures, f"{key}:\n" + "\n".join(failures)


@pytest.mark.parametrize("key", sorted(PAGES) + sorted(PREFIXES))
def test_page_permissions(world, key):
    _check(world, key, PAGES.get(key) or PREFIXES[key], api_call=False)


@pytest.mark.parametrize("key", sorted(API))
def test_api_permissions(world, key):
    _check(world, key, API[key], api_call=True)
