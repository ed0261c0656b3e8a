"""Everyone the company serves (customers, vendors, candidates, employees) and their orders.

Orders and shipments are the built-in commerce data: shops sync them through `POST /api/v1/orders`,
and the local commerce backend of `wow_credits` acts on them.
"""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CustomerKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    VENDOR = "vendor", _("Vendor")
    CANDIDATE = "candidate", _("Job candidate")
    EMPLOYEE = "employee", _("Employee")


class Tier(models.TextChoices):
    STANDARD = "standard", "Standard"
    VIP = "vip", "VIP"


class OrderProblem(models.TextChoices):
    NONE = "none", "No problem"
    PAYMENT = "payment", "Payment problem"
    ADDRESS = "address", "Address problem"
    OTHER = "other", "Other problem"


class Customer(models.Model):
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(
        max_length=16, choices=CustomerKind.choices, default=CustomerKind.CUSTOMER
    )
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    external_id = models.CharField(max_length=100, blank=True, db_index=True)
    notes = models.TextField(blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    # The language we write to them in (a code of settings.LANGUAGES), remembered from the widget,
    # the contact form or their email's Content-Language; "" until known (English then).
    language = models.CharField(max_length=8, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name or self.primary_email or f"Customer {self.pk}"

    @property
    def primary_email(self) -> str:
        for email in self.emails.all():
            if email.is_primary:
                return email.address
        first = self.emails.first()
        return first.address if first else ""

    @property
    def display_name(self) -> str:
        return self.name or self.primary_email.split("@")[0] or f"Customer {self.pk}"


class CustomerEmail(models.Model):
    """One person may write from several addresses; each address belongs to one person."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="emails")
    address = models.EmailField(unique=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        return self.address


class Order(models.Model):
    external_id = models.CharField(max_length=100, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=32, default="paid")
    # Reported by the shop through POST /api/v1/orders; the care sweep opens a task for it.
    problem = models.CharField(
        max_length=16, choices=OrderProblem.choices, default=OrderProblem.NONE
    )
    problem_detail = models.CharField(
        max_length=500, blank=True, help_text="The shop's words about the problem."
    )
    placed_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at"]
        indexes = [
            models.Index(fields=["customer", "-placed_at"]),
            # The care sweep reads only orders in trouble: a tiny partial index.
            models.Index(fields=["id"], name="order_with_problem", condition=~Q(problem="none")),
        ]

    def __str__(self) -> str:
        return f"Order {self.external_id}"

    @property
    def paid_amount(self) -> Decimal:
        return self.total


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    sku = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=1)
    price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class ShipmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_TRANSIT = "in_transit", "In transit"
    DELIVERED = "delivered", "Delivered"
    LATE = "late", "Late"
    RETURNED = "returned", "Returned"
    CANCELLED = "cancelled", "Cancelled"


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    method = models.CharField(max_length=32, default="standard")
    address = models.TextField(blank=True)
    carrier = models.CharField(max_length=64, blank=True)
    tracking = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=16, choices=ShipmentStatus.choices, default=ShipmentStatus.PENDING
    )
    promised_by = models.DateTimeField(null=True, blank=True)
    last_scan_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["promised_by"],
                name="shipment_open_promised",
                condition=~Q(status__in=["delivered", "cancelled", "returned"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.carrier or 'Shipment'} {self.tracking}".strip()


class IntegrationToken(models.Model):
    """The shop's own credential for syncing orders and customers (`manage.py issue_shop_token`).

    Not a person's token: only these may write what a customer paid, which is the ceiling of every
    refund. Only the SHA-256 is stored; the raw value is shown once, at issue.
    """

    PREFIX = "sdshop_"

    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def generate(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()
