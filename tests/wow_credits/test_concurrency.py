from __future__ import annotations

from decimal import Decimal

import pytest

from tests import factories
from tests.helpers.reliability import in_parallel
from wow_credits import ledger, services
from wow_credits.models import Grant


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refunds_over_the_total_one_wins():
    alice = factories.AgentFactory()
    bob = factories.AgentFactory()
    order = factories.OrderFactory(total=Decimal("100.00"))

    def refund(agent, key):
        return lambda: services.grant(
            "refund", by=agent, order=order, amount="70", reason="late", idempotency_key=key
        )

    for round_ in range(3):
        results = in_parallel([refund(alice, f"a{round_}"), refund(bob, f"b{round_}")])
        if round_ == 0:
            wins = [r for r in results if isinstance(r, tuple)]
            errors = [r for r in results if isinstance(r, services.GrantError)]
            assert len(wins) == 1 and len(errors) == 1, results
            assert errors[0].code == "amount_exceeds_refundable"
    assert ledger.refunded_total(order) == Decimal("70.00")
    assert Grant.objects.filter(order=order).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_one_grant():
    alice = factories.AgentFactory()
    order = factories.OrderFactory(total=Decimal("100.00"))

    def call():
        return services.grant(
            "refund", by=alice, order=order, amount="10", reason="late", idempotency_key="same"
        )

    results = in_parallel([call] * 4)
    assert all(isinstance(r, tuple) for r in results), results
    assert len({r[0].pk for r in results}) == 1
    assert sum(1 for r in results if r[1]) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_bonuses_never_exceed_the_allowance():
    alice = factories.AgentFactory()
    bob = factories.AgentFactory()

    def call(i):
        return lambda: services.grant(
            "coworker_bonus",
            by=alice,
            recipient=bob,
            amount="30",
            reason="saved the day",
            idempotency_key=f"k{i}",
        )

    results = in_parallel([call(i) for i in range(3)])
    assert sum(1 for r in results if isinstance(r, tuple)) == 1
    assert ledger.bonuses_given_this_month(alice) == Decimal("30.00")
