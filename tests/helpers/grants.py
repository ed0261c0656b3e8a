"""Grants in tests: one through the service with a fresh idempotency key, a paid order to grant
on, and the company's core values (fixtures; conftests that need them import them)."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from tests import factories
from wow_credits import services

_keys = itertools.count(1)


@pytest.fixture
def order(db: None):
    """A paid order of 120.00 with one item, an in-transit shipment and its customer."""
    order = factories.OrderFactory(total=Decimal("120.00"))
    factories.OrderItemFactory(order=order, name="Oxford shoes, size 10")
    factories.ShipmentFactory(order=order, address="1 Wrong St, Springfield")
    return order


def make_grant(kind: str, *, by, **kwargs):
    """A grant through the service with a fresh idempotency key."""
    kwargs.setdefault("reason", "The shoes went to the wrong address before a wedding")
    kwargs.setdefault("idempotency_key", f"test-{next(_keys)}")
    grant, created = services.grant(kind, by=by, **kwargs)
    assert created
    return grant


@pytest.fixture
def core_values(db: None) -> None:
    """The sample values from the data migration; transactional tests flush migration data."""
    from django.utils.text import slugify

    from wow_credits.models import CoreValue

    migration = __import__("wow_credits.migrations.0002_core_values", fromlist=["VALUES"])
    for position, name in enumerate(migration.VALUES, start=1):
        CoreValue.objects.get_or_create(
            slug=slugify(name), defaults={"name": name, "position": position}
        )
