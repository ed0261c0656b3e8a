"""What the customer reads about a grant, in one place: what it will do (`plan`: the chat line
when it is made or undone) and what it did (`done`: the outcome the local backend records, which
the chat line and the confirmation email show once it is executed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from customers.models import Shipment
from wow_credits.models import DiscountCode, Grant, GrantKind, LocalEffect

_T = TypeVar("_T")


def _money(grant: Grant) -> str:
    return f"{grant.amount} {grant.currency}" if grant.amount is not None else ""


def _order(grant: Grant, preposition: str) -> str:
    return f" {preposition} order {grant.order.external_id}" if grant.order is not None else ""


def plan(grant: Grant) -> str:
    """What a pending grant will do, in the customer's words ("a refund of 20.00 USD for ...")."""
    amount = f" of {_money(grant)}" if grant.amount is not None else ""
    order = _order(grant, "for")
    kind = GrantKind(grant.kind)
    if kind == GrantKind.OVERNIGHT_RESHIP:
        return f"a new shipment{order} by overnight shipping"
    if kind == GrantKind.REROUTE_OVERNIGHT:
        return f"overnight shipping{order}"
    if kind == GrantKind.VIP_UPGRADE:
        return "a VIP upgrade: free overnight shipping on future orders"
    if kind == GrantKind.DISCOUNT_CODE and grant.details.get("percent"):
        amount = f" of {grant.details['percent']}%"
    return f"a {grant.get_kind_display().lower()}{amount}{order}"


def done(grant: Grant) -> str:
    """What an executed grant did, in the customer's words ("We refunded 20.00 USD on ..."), in
    the active language (the confirmation email renders it in the customer's)."""
    values = {
        "amount": _money(grant),
        "order": grant.order.external_id if grant.order is not None else "",
        "kind": grant.get_kind_display(),
    }
    kind = GrantKind(grant.kind)
    on_order = {
        GrantKind.REFUND: _("We refunded %(amount)s on order %(order)s."),
        GrantKind.REBATE: _("We sent you a rebate of %(amount)s on order %(order)s."),
        GrantKind.GIFT: _("We are sending you a gift on order %(order)s, shipped free."),
    }
    plain = {
        GrantKind.REFUND: _("We refunded %(amount)s."),
        GrantKind.REBATE: _("We sent you a rebate of %(amount)s."),
        GrantKind.GIFT: _("We are sending you a gift, shipped free."),
        GrantKind.VIP_UPGRADE: _(
            "You are now a VIP customer: free overnight shipping on future orders."
        ),
        GrantKind.COWORKER_BONUS: _("A coworker bonus of %(amount)s."),
    }
    if values["order"] and kind in on_order:
        return on_order[kind] % values
    if kind in plain:
        return plain[kind] % values
    return (_("%(kind)s on order %(order)s.") if values["order"] else _("%(kind)s.")) % values


def discount(code: DiscountCode) -> str:
    """The discount code a grant made, in the active language."""
    values = {
        "code": code.code,
        "value": f"{code.percent}%" if code.percent else f"{code.amount} {code.currency}",
        "date": f"{code.expires_at:%Y-%m-%d}" if code.expires_at else "",
    }
    if code.expires_at:
        text = _(
            "Your discount code %(code)s takes %(value)s off your next order, valid until %(date)s."
        )
    else:
        text = _("Your discount code %(code)s takes %(value)s off your next order.")
    return text % values


def reship(grant: Grant, shipment: Shipment) -> str:
    """The new overnight shipment of a reship, in the active language."""
    items = ", ".join(i.name for i in grant.order.items.all()) if grant.order is not None else ""
    return _(
        "We are sending a new %(items)s by overnight shipping with %(carrier)s, tracking %(tracking)s."
    ) % {
        "items": items or _("shipment"),
        "carrier": shipment.carrier,
        "tracking": shipment.tracking,
    }


def reroute(shipment: Shipment) -> str:
    """A shipment rerouted overnight, in the active language."""
    return _(
        "Your shipment now travels overnight to %(address)s with %(carrier)s, tracking %(tracking)s."
    ) % {
        "address": shipment.address or _("your address"),
        "carrier": shipment.carrier or _("the carrier"),
        "tracking": shipment.tracking,
    }


def local_outcome(grant: Grant) -> str | None:
    """What the local backend did for `grant`, in the active language; None when it did not."""
    kind = GrantKind(grant.kind)
    if kind == GrantKind.DISCOUNT_CODE:
        code = DiscountCode.objects.filter(grant=grant).first()
        return discount(code) if code is not None else None
    if kind in (GrantKind.OVERNIGHT_RESHIP, GrantKind.REROUTE_OVERNIGHT):
        effect = LocalEffect.objects.filter(grant=grant).select_related("shipment").first()
        if effect is None or effect.shipment is None:
            return None
        shipment = effect.shipment
        return reship(grant, shipment) if kind == GrantKind.OVERNIGHT_RESHIP else reroute(shipment)
    return done(grant)


def recorded(grant: Grant) -> str:
    """`done` in English, as the backend records it on the grant (whatever language the agent's
    page is in); the confirmation email translates it for the customer."""
    return english(done, grant)


def english(words: Callable[..., _T], *args: Any) -> _T:
    """`words(*args)` in English: what backends record on the grant."""
    with translation.override(settings.LANGUAGE_CODE):
        return words(*args)
