"""Deterministic support data for the inbox benchmark: agents, customers, tags and tickets.

One seeded generator feeds both Supportdesk and the django-helpdesk reference in the same run, so
both databases hold the same tickets (same ids, subjects, bodies, customers, statuses, dates).
Tickets are yielded one at a time: a million of them never sit in a Python list.

Text is built from templates and a Zipf-distributed vocabulary, so full-text search sees what a
real desk has: a few very common words ("order" in about 40% of tickets), a long tail, and one
deliberately rare word (RARE_WORD, in about one ticket in 20,000).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SEED = 20261123
START = datetime(2025, 1, 1, tzinfo=UTC)
# One new ticket every 30 seconds: a million tickets span about a year of a busy desk.
STEP = timedelta(seconds=30)
CUSTOMERS_PER_TICKET = 0.2
AGENT_COUNT = 20
COMMON_WORD = "order"
RARE_WORD = "zeppelin"
RARE_RATE = 1 / 20_000

FIRST = [
    "Sam",
    "Alex",
    "Maria",
    "Jo",
    "Chris",
    "Priya",
    "Liam",
    "Emma",
    "Noah",
    "Olivia",
    "Ava",
    "Mateo",
    "Yuki",
    "Chen",
    "Fatima",
    "Omar",
    "Lucas",
    "Sofia",
    "Ivan",
    "Elena",
    "Kofi",
    "Amara",
    "Raj",
    "Mei",
    "Hannah",
    "Tom",
    "Zoe",
    "Leo",
    "Nina",
    "Hugo",
    "Ines",
    "Pablo",
    "Greta",
    "Ali",
    "Sara",
    "Jonas",
    "Lena",
    "Ada",
    "Felix",
    "Mila",
    "Ravi",
    "Anya",
    "Diego",
    "Lucia",
    "Arjun",
    "Keiko",
    "Tariq",
    "Eva",
    "Finn",
    "Clara",
]
LAST = [
    "Best",
    "Smith",
    "Garcia",
    "Kim",
    "Nguyen",
    "Patel",
    "Muller",
    "Rossi",
    "Silva",
    "Tanaka",
    "Cohen",
    "Novak",
    "Okafor",
    "Larsen",
    "Dubois",
    "Kowalski",
    "Haddad",
    "Jensen",
    "Moreau",
    "Ivanova",
    "Costa",
    "Berg",
    "Fischer",
    "Lopez",
    "Sato",
    "Khan",
    "Walsh",
    "Byrne",
    "Meyer",
    "Santos",
    "Wright",
    "Young",
    "Keller",
    "Vogel",
    "Bauer",
    "Ortiz",
    "Reyes",
    "Holm",
    "Lind",
    "Park",
    "Choi",
    "Ahmed",
    "Ali",
    "Brown",
    "Green",
    "Hall",
    "Adams",
    "Baker",
    "Clark",
    "Evans",
]
DOMAINS = ("example.com", "mail.example.org", "post.example.net", "inbox.example.io")
ADJECTIVES = [
    "leather",
    "suede",
    "canvas",
    "merino",
    "linen",
    "wool",
    "denim",
    "velvet",
    "trail",
    "running",
    "hiking",
    "classic",
    "slim",
    "waterproof",
    "vintage",
    "organic",
    "quilted",
    "knitted",
    "padded",
    "lightweight",
    "recycled",
]
PRODUCTS = [
    "shoes",
    "boots",
    "sneakers",
    "loafers",
    "sandals",
    "jacket",
    "coat",
    "scarf",
    "gloves",
    "belt",
    "wallet",
    "backpack",
    "dress",
    "shirt",
    "sweater",
    "hoodie",
    "trousers",
    "jeans",
    "socks",
    "hat",
    "umbrella",
    "watch",
    "sunglasses",
    "tote",
]
TAGS = [
    "refund",
    "shipping",
    "wrong-size",
    "damaged",
    "late-delivery",
    "exchange",
    "billing",
    "discount",
    "gift",
    "vip",
    "address-change",
    "warranty",
    "missing-item",
    "return",
    "invoice",
    "payment",
    "account",
    "cancel",
    "wholesale",
    "press",
    "partnership",
    "feedback",
    "bug",
    "mobile-app",
    "loyalty",
    "stock",
    "size-chart",
    "care",
    "complaint",
    "praise",
]
SUBJECTS = (
    "Where is my order {order}?",
    "Wrong size {product} in order {order}",
    "Refund for the {product}",
    "My {product} arrived damaged",
    "Can I exchange my {product}?",
    "Size chart for the {product}",
    "Order {order} never arrived",
    "Change the delivery address of order {order}",
    "Question about your {product}",
    "Discount code not working",
    "Invoice for order {order}",
    "The {product} is out of stock, when is it back?",
    "Cancel order {order} please",
    "Gift wrapping for my {product}",
    "Thank you for the quick help!",
    "Wholesale inquiry: {product}",
    "Application for the warehouse position",
    "Delivery late for the wedding tomorrow",
)
SENTENCES = (
    "I ordered the {product} last week and it still has not shipped.",
    "The tracking number for order {order} has not updated in four days.",
    "Could you send me a size chart, I am between two sizes?",
    "The box was crushed and the {product} has a {word} stain on it.",
    "I would like a refund or an exchange for a larger size.",
    "My wedding is on Saturday and I really need these {product} by Friday.",
    "Your colleague {first} helped me last time and was wonderful.",
    "Please ship the replacement to my office address instead.",
    "I was charged twice for order {order}, can you check my card?",
    "The discount code from your newsletter says it expired.",
    "Do you have the {product} in {word}?",
    "I love the {product} but the colour is not what the photo showed.",
    "Can you tell me when the {product} will be back in stock?",
    "It is a gift for my {word}, so the timing matters.",
    "Thanks in advance, you have always been great to me.",
    "The {word} on the {product} came loose after one week.",
    "I am a {word} supplier and would like to discuss a partnership.",
    "My order number is {order}.",
)
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "sen",
    "tu",
    "vel",
    "dor",
    "pa",
    "ni",
    "qu",
    "bre",
    "sto",
    "lin",
    "ga",
    "fe",
    "ro",
    "tam",
    "zi",
    "hol",
]


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    name: str
    email: str
    kind: str
    tier: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    subject: str
    body: str
    customer_id: int
    customer_email: str
    customer_name: str
    assignee: int | None  # index into agents(), or None for unassigned
    status: str  # new, open, pending, solved, closed
    priority: str  # low, normal, high, urgent
    type: str
    channel: str
    tag_ids: tuple[int, ...]  # 1-based ids into TAGS
    created_at: datetime
    updated_at: datetime


def agents() -> list[tuple[str, str]]:
    """(email, name) of the benchmark's agents; the first one is the agent who logs in."""
    return [
        (f"agent{i + 1}@bench.supportdesk", f"{FIRST[i % len(FIRST)]} Agent{i + 1}")
        for i in range(AGENT_COUNT)
    ]


def customer_count(tickets: int) -> int:
    return max(10, int(tickets * CUSTOMERS_PER_TICKET))


def _customer(n: int) -> Customer:
    # A pure function of n, so a ticket knows its customer's email without a lookup table.
    first = FIRST[n % len(FIRST)]
    last = LAST[(n // len(FIRST)) % len(LAST)]
    domain = DOMAINS[n % len(DOMAINS)]
    bucket = (n * 2654435761) % 100  # a fixed scramble: kinds and tiers spread over ids
    kind = (
        "vendor"
        if bucket < 4
        else "candidate"
        if bucket < 7
        else "employee"
        if bucket < 10
        else "customer"
    )
    tier = "vip" if bucket % 20 == 0 else "standard"
    return Customer(
        id=n,
        name=f"{first} {last}",
        email=f"{first.lower()}.{last.lower()}.{n}@{domain}",
        kind=kind,
        tier=tier,
        created_at=START - timedelta(days=30) + timedelta(seconds=n),
    )


def customers(count: int) -> Iterator[Customer]:
    for n in range(1, count + 1):
        yield _customer(n)


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen and word != RARE_WORD:
            seen.add(word)
            words.append(word)
    return words


def tickets(
    total: int, *, seed: int = SEED, customers_total: int | None = None
) -> Iterator[Ticket]:
    """Tickets 1..total in creation order. Consume part of it, pause, and go on: the rest is the
    same as if it had been consumed in one go (one RNG, advanced only here)."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    # Zipf weights over the vocabulary: a few words everywhere, most words rare.
    cum_weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(vocab))))
    n_customers = customers_total or customer_count(total)
    statuses = ("new", "open", "pending", "solved", "closed")
    status_weights = list(itertools.accumulate((3, 7, 5, 35, 50)))
    priorities = ("low", "normal", "high", "urgent")
    priority_weights = list(itertools.accumulate((15, 65, 15, 5)))
    types = ("question", "problem", "task", "care")
    type_weights = list(itertools.accumulate((70, 22, 5, 3)))
    channels = ("email", "web", "api", "chat")
    channel_weights = list(itertools.accumulate((60, 20, 5, 15)))
    random_ = rng.random
    choices = rng.choices
    for n in range(1, total + 1):
        words = choices(vocab, cum_weights=cum_weights, k=4)
        product = f"{ADJECTIVES[int(random_() * len(ADJECTIVES))]} {PRODUCTS[int(random_() * len(PRODUCTS))]}"
        fill = {
            "order": f"#{100000 + n * 7 % 900000}",
            "product": product,
            "word": words[0],
            "first": FIRST[int(random_() * len(FIRST))],
        }
        subject = SUBJECTS[int(random_() * len(SUBJECTS))].format(**fill)
        parts = [
            SENTENCES[int(random_() * len(SENTENCES))].format(**fill)
            for _ in range(2 + int(random_() * 3))
        ]
        parts.append(f"Also {words[1]} {words[2]} {words[3]}.")
        if random_() < RARE_RATE:
            parts.append(f"It is shaped like a {RARE_WORD}, if that helps.")
        # Customers write several tickets; recent customers a bit more often.
        customer_id = 1 + int((random_() ** 0.7) * n_customers) % n_customers
        customer = _customer(customer_id)
        parts.append(f"Best regards,\n{customer.name}")
        status = choices(statuses, cum_weights=status_weights)[0]
        if status == "new" or (status == "open" and random_() < 0.3):
            assignee = None
        else:
            assignee = int(random_() * AGENT_COUNT)
        tag_count = choices((0, 1, 2, 3), cum_weights=(30, 70, 90, 100))[0]
        tag_ids = tuple(sorted({1 + int(random_() * len(TAGS)) for _ in range(tag_count)}))
        created = START + STEP * n
        updated = created + timedelta(seconds=int(random_() * 5 * 86400))
        yield Ticket(
            id=n,
            subject=subject[:200],
            body=" ".join(parts),
            customer_id=customer_id,
            customer_email=customer.email,
            customer_name=customer.name,
            assignee=assignee,
            status=status,
            priority=choices(priorities, cum_weights=priority_weights)[0],
            type=choices(types, cum_weights=type_weights)[0],
            channel=choices(channels, cum_weights=channel_weights)[0],
            tag_ids=tag_ids,
            created_at=created,
            updated_at=updated,
        )
