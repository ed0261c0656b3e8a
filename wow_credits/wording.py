"""What the customer reads about a grant, in one place: what it will do (`plan`: the chat line
when it is made or undone) and what it did (`done`: the outcome the local backend records, which
the chat line and the confirmation email show once it is executed)."""

from __future__ import annotations

from wow_credits.models import Grant, GrantKind


def _money(grant: Grant) -> str:
    return f"{grant.amount} {grant.currency}" if grant.amount is not None else ""


def _order(grant: Grant, preposition: str) -> str:
    return f" {preposition} order {grant.order.external_id}" if grant.order_id else ""  # type: ignore[union-attr]


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
    """What an executed grant did, in the customer's words ("We refunded 20.00 USD on ...")."""
    amount = _money(grant)
    order = _order(grant, "on")
    return {
        GrantKind.REFUND: f"We refunded {amount}{order}.",
        GrantKind.REBATE: f"We sent you a rebate of {amount}{order}.",
        GrantKind.GIFT: f"We are sending you a gift{order}, shipped free.",
        GrantKind.VIP_UPGRADE: "You are now a VIP customer: free overnight shipping on future orders.",
        GrantKind.COWORKER_BONUS: f"A coworker bonus of {amount}.",
    }.get(GrantKind(grant.kind), f"{grant.get_kind_display()}{order}.")
