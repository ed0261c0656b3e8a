"""Commerce backends: who carries out a grant.

`CommerceBackend.execute(grant)` must be idempotent per grant: after a crash the sweep calls it
again for the same grant (same id, same idempotency key), and the second call must not apply the
effect twice. The local backend keys its effects by grant id (`LocalEffect`, `DiscountCode.grant`);
the webhook backend sends `Idempotency-Key: grant-<id>` and the shop must dedupe on it.

Choose with `SUPPORTDESK_COMMERCE_BACKEND` = "local" (default) or "webhook"
(`SUPPORTDESK_COMMERCE_WEBHOOK_URL`, `SUPPORTDESK_COMMERCE_WEBHOOK_SECRET`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import Order, Shipment, ShipmentStatus, Tier
from wow_credits import wording
from wow_credits.ledger import refunded_executed
from wow_credits.models import DiscountCode, Grant, GrantKind, LocalEffect

OPEN_SHIPMENT = (ShipmentStatus.PENDING, ShipmentStatus.IN_TRANSIT, ShipmentStatus.LATE)


@dataclass(frozen=True)
class ExecutionResult:
    ok: bool
    external_ref: str = ""
    summary: str = ""
    error: str = ""


class CommerceBackend(Protocol):
    def execute(self, grant: Grant) -> ExecutionResult: ...


def idempotency_key(grant: Grant) -> str:
    return f"grant-{grant.pk}"


class LocalBackend:
    """Acts on our own orders, shipments and discount codes, once per grant."""

    def execute(self, grant: Grant) -> ExecutionResult:
        with transaction.atomic():
            # The grant row lock serialises two executions of one grant (a stale lease racing).
            Grant.objects.select_for_update().get(pk=grant.pk)
            effect = LocalEffect.objects.filter(grant=grant).first()
            if effect is not None:
                return ExecutionResult(
                    ok=True, external_ref=f"local-{effect.pk}", summary=effect.summary
                )
            shipment, summary = self._apply(grant)
            effect = LocalEffect.objects.create(grant=grant, shipment=shipment, summary=summary)
        return ExecutionResult(ok=True, external_ref=f"local-{effect.pk}", summary=summary)

    def _apply(self, grant: Grant) -> tuple[Shipment | None, str]:
        kind = GrantKind(grant.kind)
        if kind == GrantKind.REFUND:
            assert grant.order_id is not None  # validated at creation (order_required)
            order = Order.objects.select_for_update().get(pk=grant.order_id)
            if refunded_executed(order) + (grant.amount or 0) >= order.paid_amount:
                order.status = "refunded"
            else:
                order.status = "partially_refunded"
            order.save(update_fields=["status", "updated_at"])
            return None, wording.recorded(grant)
        if kind == GrantKind.VIP_UPGRADE:
            customer = grant.customer
            assert customer is not None
            customer.tier = Tier.VIP
            customer.save(update_fields=["tier"])
            return None, wording.recorded(grant)
        if kind == GrantKind.DISCOUNT_CODE:
            code = self._discount_code(grant)
            return None, wording.english(wording.discount, code)
        if kind == GrantKind.OVERNIGHT_RESHIP:
            shipment = self._reship(grant)
            return shipment, wording.english(wording.reship, grant, shipment)
        if kind == GrantKind.REROUTE_OVERNIGHT:
            shipment = self._reroute(grant)
            return shipment, wording.english(wording.reroute, shipment)
        return None, wording.recorded(grant)

    def _discount_code(self, grant: Grant) -> DiscountCode:
        existing = DiscountCode.objects.filter(grant=grant).first()
        if existing is not None:
            return existing
        days = int(grant.details.get("expires_in_days", 90))
        for _ in range(5):
            try:
                with transaction.atomic():
                    return DiscountCode.objects.create(
                        code=f"WOW-{secrets.token_hex(4).upper()}",
                        amount=grant.amount,
                        percent=grant.details.get("percent"),
                        currency=grant.currency,
                        expires_at=timezone.now() + timedelta(days=days),
                        customer=grant.customer,
                        grant=grant,
                    )
            except IntegrityError:
                continue  # a code collision: draw another
        raise RuntimeError("Could not draw a unique discount code")

    def _reship(self, grant: Grant) -> Shipment:
        order = grant.order
        assert order is not None
        previous = order.shipments.order_by("-created_at", "-id").first()
        return Shipment.objects.create(
            order=order,
            method="overnight",
            address=grant.details.get("address") or (previous.address if previous else ""),
            carrier=previous.carrier if previous and previous.carrier else "UPS",
            tracking=f"1ZWOW{grant.pk:06d}{secrets.token_hex(3).upper()}",
            status=ShipmentStatus.PENDING,
            promised_by=timezone.now() + timedelta(days=1),
        )

    def _reroute(self, grant: Grant) -> Shipment:
        order = grant.order
        assert order is not None
        shipment = (
            order.shipments.select_for_update()
            .filter(status__in=OPEN_SHIPMENT)
            .order_by("-created_at", "-id")
            .first()
        )
        if shipment is None:
            # Nothing left to reroute: send the items again overnight instead.
            return self._reship(grant)
        shipment.method = "overnight"
        if grant.details.get("address"):
            shipment.address = str(grant.details["address"])
        shipment.promised_by = timezone.now() + timedelta(days=1)
        shipment.save(update_fields=["method", "address", "promised_by"])
        return shipment


class WebhookBackend:
    """POSTs signed JSON to the shop; non-2xx or a network error is a failure to retry."""

    def __init__(self, url: str, secret: str, timeout: float = 10.0) -> None:
        if not url or not secret:
            raise ImproperlyConfigured(
                "SUPPORTDESK_COMMERCE_WEBHOOK_URL and SUPPORTDESK_COMMERCE_WEBHOOK_SECRET must be set"
            )
        if not url.startswith(("http://", "https://")):
            raise ImproperlyConfigured("SUPPORTDESK_COMMERCE_WEBHOOK_URL must be an http(s) URL")
        self.url, self.secret, self.timeout = url, secret.encode(), timeout

    def payload(self, grant: Grant) -> dict[str, object]:
        return {
            "id": grant.pk,
            "idempotency_key": idempotency_key(grant),
            "kind": grant.kind,
            "amount": str(grant.amount) if grant.amount is not None else None,
            "currency": grant.currency,
            "reason": grant.reason,
            "customer": {
                "id": grant.customer_id,
                "email": grant.customer.primary_email if grant.customer else "",
                "external_id": grant.customer.external_id if grant.customer else "",
            },
            "order_external_id": grant.order.external_id if grant.order is not None else None,
            "details": grant.details,
            "agent": grant.agent.email,
            "created_at": grant.created_at.isoformat(),
        }

    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    def execute(self, grant: Grant) -> ExecutionResult:
        body = json.dumps(self.payload(grant), sort_keys=True).encode()
        # The scheme is checked in __init__: only http(s) URLs reach urlopen.
        request = urllib.request.Request(  # noqa: S310
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency_key(grant),
                "X-Supportdesk-Signature": self.sign(body),
                "User-Agent": "Supportdesk-Grants/1",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read(65536)
        except urllib.error.HTTPError as exc:
            return ExecutionResult(ok=False, error=f"HTTP {exc.code} from the shop")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return ExecutionResult(ok=False, error=f"Shop unreachable: {exc}")
        reference = ""
        summary = wording.recorded(grant)
        try:
            data = json.loads(raw or b"{}")
            if isinstance(data, dict):
                reference = str(data.get("reference", ""))
                summary = str(data.get("summary") or summary)
        except ValueError:
            pass
        return ExecutionResult(
            ok=True, external_ref=reference or idempotency_key(grant), summary=summary
        )


def get_backend() -> CommerceBackend:
    """The commerce backend the settings name (supportdesk/settings.py holds every default)."""
    name = settings.SUPPORTDESK_COMMERCE_BACKEND
    if name == "local":
        return LocalBackend()
    if name == "webhook":
        return WebhookBackend(
            str(settings.SUPPORTDESK_COMMERCE_WEBHOOK_URL),
            str(settings.SUPPORTDESK_COMMERCE_WEBHOOK_SECRET),
            timeout=float(settings.SUPPORTDESK_COMMERCE_WEBHOOK_TIMEOUT),
        )
    raise ImproperlyConfigured(
        f"SUPPORTDESK_COMMERCE_BACKEND must be local or webhook, got {name!r}"
    )


__all__ = ["CommerceBackend", "ExecutionResult", "LocalBackend", "WebhookBackend", "get_backend"]
