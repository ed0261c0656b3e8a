"""Demo data for `make demo`: people, orders and shipments, tickets in every state, chats, WOWs.

Everything is created through the same services the product uses, so the demo shows real behaviour.
Running it again changes nothing (the demo agents' existence marks the data as loaded).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import create_agent
from customers.models import Customer, CustomerKind
from customers.services import ItemInput, ShipmentInput, customer_for_email, upsert_order
from tickets import services as tickets

PASSWORD = "demo-pass-2026"
AGENTS = [
    ("alice@demo.supportdesk", "Alice Ng", "agent", "Support", False),
    ("bob@demo.supportdesk", "Bob Ortiz", "agent", "Support", False),
    ("tina@demo.supportdesk", "Tina Park", "agent", "Finance", True),
    ("carol@demo.supportdesk", "Carol Mendes", "manager", "Support", False),
    ("admin@demo.supportdesk", "Dana Admin", "admin", "IT", False),
]
CUSTOMERS = [
    ("sam.best@example.com", "Sam Best", CustomerKind.CUSTOMER),
    ("priya@example.com", "Priya Raman", CustomerKind.CUSTOMER),
    ("lee.wong@example.com", "Lee Wong", CustomerKind.CUSTOMER),
    ("maria.g@example.com", "Maria Gonzalez", CustomerKind.CUSTOMER),
    ("orders@acme-leather.example", "Acme Leather (vendor)", CustomerKind.VENDOR),
    ("jordan.cv@example.com", "Jordan Ellis", CustomerKind.CANDIDATE),
    ("omar@example.com", "Omar Haddad", CustomerKind.CUSTOMER),
    ("kim@example.com", "Kim Larsen", CustomerKind.CUSTOMER),
]
PRODUCTS = [
    ("Oxford shoes, black, size 10", "180.00"),
    ("Trail runners, size 9", "129.00"),
    ("Leather belt", "45.00"),
    ("Wool socks (3 pairs)", "24.00"),
    ("Chelsea boots, size 8", "210.00"),
]
TICKETS = [
    # (customer index, subject, body, final status, agent reply)
    (
        0,
        "My shoes for tomorrow's wedding went to the wrong address",
        "I'm the best man and the tracking says the shoes were delivered to 12 Chapel Rd. I live at 21 Chapel Rd!",
        "open",
        None,
    ),
    (
        1,
        "Size chart for the Chelsea boots?",
        "Do the Chelsea boots run small? I'm usually an 8.",
        "pending",
        "They run true to size; our size chart: 8 = 26 cm foot length. Happy to exchange if they don't fit.",
    ),
    (
        2,
        "Refund for a damaged belt",
        "The buckle broke on the first day.",
        "solved",
        "So sorry! I've refunded the belt in full, and you don't need to send it back.",
    ),
    (
        3,
        "Can I change my delivery address?",
        "I'm moving next week, order not shipped yet.",
        "new",
        None,
    ),
    (
        4,
        "Invoice 2291 payment date",
        "Could you confirm when invoice 2291 will be paid?",
        "pending",
        "Finance confirmed: it's scheduled for Friday.",
    ),
    (5, "Interview schedule", "I'd love to know the next steps after my interview.", "open", None),
    (
        6,
        "Trail runners out of stock in size 9",
        "Any chance they come back before my race?",
        "solved",
        "They're back on Dec 3rd; I've sent you a discount code, and our sister store has them today.",
    ),
    (
        7,
        "Wrong color socks",
        "I ordered grey, got pink. Funny, but still.",
        "closed",
        "Grey ones are on the way, keep the pink ones!",
    ),
]


class Command(BaseCommand):
    help = "Load demo data (agents, customers, orders, shipments, tickets, chats, WOWs) once."

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.filter(email=AGENTS[0][0]).exists():
            self.stdout.write("Demo data already loaded.")
        else:
            with transaction.atomic():
                self._load()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self._print_logins()

    def _load(self) -> None:
        """The demo's data, one step per kind, each through the apps' services."""
        rng = random.Random(42)
        now = timezone.now()
        alice, bob = self._agents()
        customers = self._customers_with_orders(rng, now)
        self._orders_for_care(now)
        self._tickets(customers, alice, bob, now)
        self._more_tickets(customers, bob, rng)
        self._other_apps()

    def _agents(self) -> tuple[User, User]:
        agents = {
            email: create_agent(email, role=role, password=PASSWORD, name=name, team=team)
            for email, name, role, team, _ in AGENTS
        }
        for email, *_, trainee in AGENTS:
            if trainee:
                User.objects.filter(email=email).update(is_trainee=True)
        return agents[AGENTS[0][0]], agents[AGENTS[1][0]]

    def _customers_with_orders(self, rng: random.Random, now: datetime) -> list[Customer]:
        """Each customer with one to three paid orders, the first shipment of each in transit."""
        customers = []
        for n, (email, name, kind) in enumerate(CUSTOMERS):
            customer = customer_for_email(email, name=name, kind=kind)
            customers.append(customer)
            for k in range(1 + n % 3):
                product, price = PRODUCTS[(n + k) % len(PRODUCTS)]
                late = n == 0 and k == 0
                upsert_order(
                    external_id=f"DEMO-{1000 + n * 10 + k}",
                    customer_email=email,
                    customer_name=name,
                    items=[ItemInput(name=product, quantity=1, price=Decimal(price))],
                    total=Decimal(price),
                    currency="USD",
                    status="paid",
                    shipping=ShipmentInput(
                        method="standard",
                        address=f"{rng.randint(1, 99)} Chapel Rd, Springfield",
                        carrier="UPS",
                        tracking=f"1Z{rng.randint(10**7, 10**8)}",
                        status="in_transit" if late or k == 0 else "delivered",
                        # In transit and on time (the care sweep leaves these alone); the
                        # late ones for proactive care are added below.
                        promised_by=now + timedelta(hours=20 if late else 48)
                        if late or k == 0
                        else now - timedelta(days=3 + k),
                        last_scan_at=now - timedelta(hours=6)
                        if late or k == 0
                        else now - timedelta(days=4),
                    ),
                    placed_at=now - timedelta(days=5 + 7 * k),
                )
        return customers

    def _orders_for_care(self, now: datetime) -> None:
        """Proactive care (scenario 6): a shipment past its promised date and silent for three
        days, and an order whose payment failed; the care sweep at the end opens their tasks."""
        upsert_order(
            external_id="DEMO-LATE-1",
            customer_email=CUSTOMERS[2][0],
            items=[ItemInput(name=PRODUCTS[4][0], quantity=1, price=Decimal(PRODUCTS[4][1]))],
            total=Decimal(PRODUCTS[4][1]),
            currency="USD",
            status="paid",
            shipping=ShipmentInput(
                address="4 Harbor St, Springfield",
                carrier="UPS",
                tracking="1Z55501234",
                status="in_transit",
                promised_by=now - timedelta(days=1),
                last_scan_at=now - timedelta(days=3),
            ),
            placed_at=now - timedelta(days=6),
        )
        upsert_order(
            external_id="DEMO-PAY-1",
            customer_email=CUSTOMERS[7][0],
            items=[ItemInput(name=PRODUCTS[1][0], quantity=1, price=Decimal(PRODUCTS[1][1]))],
            total=Decimal(PRODUCTS[1][1]),
            currency="USD",
            status="payment_failed",
            shipping=None,
            placed_at=now - timedelta(days=1),
            problem="payment",
            problem_detail="The card was declined when the shop captured the payment.",
        )

    def _tickets(self, customers: list[Customer], alice: User, bob: User, now: datetime) -> None:
        """The TICKETS above, in every state, with the agents' replies and a follow-up."""
        for index, subject, body, status, reply in TICKETS:
            ticket, _ = tickets.create_ticket(
                tickets.NewTicket(
                    customer=customers[index], subject=subject, body_text=body, channel="email"
                )
            )
            agent = alice if index % 2 == 0 else bob
            if reply:
                tickets.add_agent_reply(ticket, by=agent, body_text=reply)
            if status != "new":
                tickets.change_ticket(
                    ticket,
                    by=agent,
                    changes=tickets.TicketChanges(status=status, reassign=True, assignee=agent),
                )
            if index == 1:
                tickets.schedule_follow_up(
                    ticket,
                    by=agent,
                    send_at=now + timedelta(days=1),
                    body="Checking in: did the boots fit?",
                )

    def _more_tickets(self, customers: list[Customer], bob: User, rng: random.Random) -> None:
        """Forty everyday questions, a third of them worked by Bob, so the inbox has pages."""
        for n in range(40):
            customer = customers[n % len(customers)]
            ticket, _ = tickets.create_ticket(
                tickets.NewTicket(
                    customer=customer,
                    subject=f"Question about order DEMO-{1000 + (n % len(customers)) * 10}: {rng.choice(['delivery', 'sizing', 'returns', 'gift wrap', 'exchange'])}",
                    body_text="Hello, could you help me with my order? Thanks!",
                    channel=rng.choice(["email", "web", "api"]),
                )
            )
            if n % 3 == 0:
                tickets.change_ticket(
                    ticket,
                    by=bob,
                    changes=tickets.TicketChanges(
                        status=rng.choice(["pending", "solved"]), reassign=True, assignee=bob
                    ),
                )

    def _other_apps(self) -> None:
        """Each app's own demo command, then the care sweep."""
        # Grants, stories and celebrations, through the WOW credits services.
        call_command("load_wow_demo", stdout=self.stdout)
        # Past support sessions, so /team/ and the all-hands hours chart show everyone's hours.
        call_command("load_team_demo", stdout=self.stdout)
        # Size chart, shipping times, return rules...: type "/" in a reply or chat box.
        call_command("load_snippets_demo", stdout=self.stdout)
        # Twelve weeks of rated tickets, so the CSAT trend on /reports/ has something to show.
        call_command("load_csat_demo", stdout=self.stdout)
        # The public help center (/help/): a dozen articles in English and Spanish.
        call_command("load_help_demo", stdout=self.stdout)
        # Saved views, a bulk action and a merged duplicate (issue 16).
        call_command("load_volume_demo", stdout=self.stdout)
        # Teams for chat routing (issue 16): Returns and Wholesale.
        call_command("load_teams_demo", stdout=self.stdout)
        # The same sweep beat runs: the late shipment and the failed payment become care tasks.
        from care.services import sweep_care

        self.stdout.write(f"Proactive care opened {sweep_care()} task(s).")

    def _print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {PASSWORD}):")
        for email, name, role, _team, trainee in AGENTS:
            self.stdout.write(f"  {email:<28} {role}{' (trainee)' if trainee else ''} - {name}")
        self.stdout.write(f"Outgoing mail is captured at /outbox/ ({settings.PROFILE} profile).")
