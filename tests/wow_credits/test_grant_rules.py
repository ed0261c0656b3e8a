from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests import factories
from tests.helpers.grants import make_grant
from wow_credits import ledger, services
from wow_credits.models import Grant, GrantEvent, GrantKind, GrantStatus, LedgerError


def test_refund_over_the_paid_amount_is_refused(cast, order):
    with pytest.raises(services.GrantError) as exc:
        make_grant("refund", by=cast.alice, order=order, amount="120.01")
    assert exc.value.status == 422
    assert exc.value.code == "amount_exceeds_refundable"
    assert not Grant.objects.exists()


def test_refunds_add_up_to_at_most_the_total(cast, order):
    make_grant("refund", by=cast.alice, order=order, amount="100")
    with pytest.raises(services.GrantError):
        make_grant("refund", by=cast.bob, order=order, amount="20.01")
    last = make_grant("refund", by=cast.bob, order=order, amount="20")
    assert last.amount == Decimal("20.00")


def test_an_undone_refund_frees_its_amount(cast, order):
    first = make_grant("refund", by=cast.alice, order=order, amount="120")
    services.undo_grant(first, by=cast.bob)
    again = make_grant("refund", by=cast.alice, order=order, amount="120")
    assert again.status == GrantStatus.PENDING


def test_a_refund_without_amount_refunds_what_is_left(cast, order):
    make_grant("refund", by=cast.alice, order=order, amount="20")
    rest = make_grant("refund", by=cast.alice, order=order)
    assert rest.amount == Decimal("100.00")


@pytest.mark.parametrize("amount", ["-5", "0", "abc", "1.234", "NaN"])
def test_bad_amounts_are_refused(cast, order, amount):
    with pytest.raises(services.GrantError) as exc:
        make_grant("refund", by=cast.alice, order=order, amount=amount)
    assert exc.value.code == "invalid_amount"


def test_missing_reason_is_refused(cast, order):
    with pytest.raises(services.GrantError) as exc:
        make_grant("vip_upgrade", by=cast.alice, customer=order.customer, reason="   ")
    assert (exc.value.status, exc.value.code) == (422, "reason_required")


def test_an_order_of_another_customer_is_refused(cast, order):
    other = factories.CustomerFactory()
    with pytest.raises(services.GrantError) as exc:
        make_grant("refund", by=cast.alice, order=order, customer=other, amount="5")
    assert exc.value.code == "order_customer_mismatch"


def test_same_key_and_request_returns_the_same_grant(cast, order):
    args = dict(order=order, amount="10", reason="late", idempotency_key="k-1")
    first, created = services.grant("refund", by=cast.alice, **args)
    again, created_again = services.grant("refund", by=cast.alice, **args)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Grant.objects.count() == 1


def test_same_key_with_another_request_is_a_conflict(cast, order):
    services.grant(
        "refund", by=cast.alice, order=order, amount="10", reason="x", idempotency_key="k"
    )
    with pytest.raises(services.Conflict) as exc:
        services.grant(
            "refund", by=cast.alice, order=order, amount="11", reason="x", idempotency_key="k"
        )
    assert exc.value.status == 409


def test_keys_are_per_agent(cast, order):
    services.grant("gift", by=cast.alice, order=order, reason="x", idempotency_key="k")
    _, created = services.grant("gift", by=cast.bob, order=order, reason="y", idempotency_key="k")
    assert created


def test_undo_inside_the_window(cast, order):
    grant = make_grant("vip_upgrade", by=cast.alice, customer=order.customer)
    with time_machine.travel(timezone.now() + timedelta(minutes=9), tick=False):
        services.undo_grant(grant, by=cast.bob)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.UNDONE
    assert list(grant.events.values_list("to_status", "actor__email")) == [
        ("pending", "alice@example.com"),
        ("undone", "bob@example.com"),
    ]


def test_undo_after_the_window_is_refused(cast, order):
    grant = make_grant("vip_upgrade", by=cast.alice, customer=order.customer)
    later = timezone.now() + timedelta(minutes=10, seconds=1)
    with time_machine.travel(later, tick=False), pytest.raises(services.Conflict) as exc:
        services.undo_grant(grant, by=cast.alice)
    assert exc.value.code == "undo_window_closed"


def test_the_undo_window_is_configurable(cast, order, settings):
    settings.SUPPORTDESK_UNDO_SECONDS = 30
    grant = make_grant("gift", by=cast.alice, customer=order.customer)
    assert (grant.undo_until - grant.created_at).total_seconds() == 30


def test_coworker_bonus_allowance_per_month(cast):
    make_grant("coworker_bonus", by=cast.alice, recipient=cast.bob, amount="30")
    with pytest.raises(services.GrantError) as exc:
        make_grant("coworker_bonus", by=cast.alice, recipient=cast.bob, amount="21")
    assert exc.value.code == "allowance_exceeded"
    make_grant("coworker_bonus", by=cast.alice, recipient=cast.carol, amount="20")
    # Another giver has their own allowance.
    make_grant("coworker_bonus", by=cast.bob, recipient=cast.alice, amount="50")


def test_coworker_bonus_allowance_renews_next_month(cast, settings):
    settings.SUPPORTDESK_BONUS_ALLOWANCE = 10
    with time_machine.travel("2026-10-20 12:00Z", tick=False):
        make_grant("coworker_bonus", by=cast.alice, recipient=cast.bob, amount="10")
        assert ledger.bonuses_given_this_month(cast.alice) == Decimal("10")
    with time_machine.travel("2026-11-02 12:00Z", tick=False):
        # October's 10 of 10 used does not count in November.
        assert ledger.bonuses_given_this_month(cast.alice) == Decimal("0")
        grant = make_grant("coworker_bonus", by=cast.alice, recipient=cast.bob, amount="10")
        assert grant.amount == Decimal("10")
        assert ledger.bonuses_given_this_month(cast.alice) == Decimal("10")


def test_a_bonus_to_yourself_is_refused(cast):
    with pytest.raises(services.GrantError):
        make_grant("coworker_bonus", by=cast.alice, recipient=cast.alice, amount="5")


def test_guardrails_inform(cast, order):
    make_grant("gift", by=cast.bob, order=order)
    make_grant("refund", by=cast.bob, order=order, amount="20")
    notes = services.guardrails(customer=order.customer, order=order)
    assert "This customer received 2 grants in 30 days" in notes
    assert any(n.startswith("Bob Builder granted on this order") for n in notes)
    assert "100.00 USD of 120.00 is still refundable" in notes


def test_ledger_rows_cannot_be_changed_or_deleted(cast, order):
    grant = make_grant("gift", by=cast.alice, order=order)
    event = grant.events.get()
    event.note = "rewritten"
    with pytest.raises(LedgerError):
        event.save()
    with pytest.raises(LedgerError):
        event.delete()
    with pytest.raises(LedgerError):
        GrantEvent.objects.filter(pk=event.pk).update(note="x")
    with pytest.raises(LedgerError):
        GrantEvent.objects.all().delete()
    with pytest.raises(LedgerError):
        grant.delete()


def test_a_grants_money_never_changes(cast, order):
    grant = make_grant("refund", by=cast.alice, order=order, amount="10")
    grant.amount = Decimal("100")
    with pytest.raises(LedgerError):
        grant.save()
    with pytest.raises(LedgerError):
        grant.save(update_fields=["amount"])


def test_the_database_refuses_a_grant_without_reason(cast, order):
    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.create(
            kind=GrantKind.GIFT,
            agent=cast.alice,
            reason="",
            idempotency_key="x",
            request_hash="x",
            undo_until=timezone.now(),
            execute_after=timezone.now(),
        )


def test_admin_cannot_change_or_delete_the_ledger(cast, order, client):
    grant = make_grant("gift", by=cast.alice, order=order)
    client.force_login(cast.dave)
    page = client.get(f"/admin/wow_credits/grant/{grant.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.post(f"/admin/wow_credits/grant/{grant.pk}/delete/").status_code == 403
    event = grant.events.get()
    assert client.post(f"/admin/wow_credits/grantevent/{event.pk}/delete/").status_code == 403
    assert GrantEvent.objects.filter(pk=event.pk).exists()
