"""factory-boy factories for the domain: agents, customers, orders, shipments, tickets."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import User
from customers.models import Customer, CustomerEmail, Order, OrderItem, Shipment
from tickets.models import AuthorType, Message, Ticket


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"agent{n}@example.com")
    name = factory.Faker("name")
    role = "agent"
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def sync_role(self, create: bool, extracted: object, **kwargs: object) -> None:
        self.is_staff = self.is_superuser = self.role == "admin"
        if create:
            self.save()


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    name = factory.Faker("name")

    @factory.post_generation
    def email(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create:
            address = extracted or f"customer{self.pk}@shop.example"
            CustomerEmail.objects.create(customer=self, address=address.lower(), is_primary=True)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    external_id = factory.Sequence(lambda n: f"ORD-{1000 + n}")
    customer = factory.SubFactory(CustomerFactory)
    total = Decimal("120.00")
    currency = "USD"
    status = "paid"


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    name = "Oxford shoes, size 10"
    quantity = 1
    price = Decimal("120.00")


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shipment

    order = factory.SubFactory(OrderFactory)
    method = "standard"
    carrier = "UPS"
    tracking = factory.Sequence(lambda n: f"1Z{n:08d}")
    address = "1 Main St, Springfield"
    status = "in_transit"
    promised_by = factory.LazyFunction(lambda: timezone.now() + timedelta(days=2))


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    subject = factory.Faker("sentence", nb_words=5)
    customer = factory.SubFactory(CustomerFactory)
    channel = "email"


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    author_type = AuthorType.CUSTOMER
    body_text = factory.Faker("paragraph")
    message_id = factory.Sequence(lambda n: f"<msg{n}@customer.example>")


def mailbox(
    imap_server,
    folder: str,
    *,
    address: str | None = None,
    password: str | None = None,
    port: int | None = None,
    security: str = "none",
    smtp=None,
    **imap_extra: object,
):
    """A Mailbox on the test Dovecot (`imap_server`), made the way admins make them."""
    import secrets

    from mailboxes.services import ImapSettings, create_mailbox

    return create_mailbox(
        address=address or f"support-{secrets.token_hex(4)}@shop.test",
        name="Shop support",
        imap_settings=ImapSettings(
            host=imap_server.host,
            port=port or imap_server.port,
            username=imap_server.user,
            password=imap_server.password if password is None else password,
            security=security,
            folder=folder,
            **imap_extra,  # type: ignore[arg-type]
        ),
        smtp_settings=smtp,
    )
