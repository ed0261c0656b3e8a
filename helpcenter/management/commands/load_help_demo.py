"""Demo help center for `make demo`: a dozen published articles, in English and Spanish.

Idempotent: does nothing when any article exists. Goes through the help center services, so the
demo's articles are rendered, sanitised and indexed like any agent's.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.models import User
from helpcenter import services
from helpcenter.models import Article, Category

CATEGORIES = [
    ("orders-shipping", {"en": "Orders & shipping", "es": "Pedidos y envíos", "de": "Bestellungen & Versand"}, 10),
    ("returns-refunds", {"en": "Returns & refunds", "es": "Devoluciones y reembolsos", "de": "Rücksendungen & Erstattungen"}, 20),
    ("sizing-products", {"en": "Sizing & products", "es": "Tallas y productos", "de": "Größen & Produkte"}, 30),
]  # fmt: skip

# (category, {lang: (title, markdown)}): each entry is one article in two languages.
ARTICLES: list[tuple[str, dict[str, tuple[str, str]]]] = [
    (
        "returns-refunds",
        {
            "en": (
                "How do I return an item?",
                "You can return anything within **60 days**, worn or not, and returns are free.\n\n"
                "1. Open the email with your order confirmation and choose *Return an item*.\n"
                "2. We email you a prepaid return label.\n"
                "3. Drop the parcel at any carrier point.\n\n"
                "Your refund goes back to the original payment method within 3 business days of "
                "the parcel reaching us.",
            ),
            "es": (
                "¿Cómo devuelvo un artículo?",
                "Puedes devolver cualquier artículo en un plazo de **60 días**, usado o no, y la "
                "devolución es gratuita.\n\n"
                "1. Abre el correo de confirmación de tu pedido y elige *Devolver un artículo*.\n"
                "2. Te enviamos una etiqueta de devolución prepagada.\n"
                "3. Deja el paquete en cualquier punto de la transportista.\n\n"
                "El reembolso llega a tu método de pago original en 3 días hábiles desde que "
                "recibimos el paquete.",
            ),
        },
    ),
    (
        "returns-refunds",
        {
            "en": (
                "When will I get my refund?",
                "Refunds are sent **within 3 business days** of your return reaching our "
                "warehouse. Your bank may take 2-5 more days to show it. You get an email the "
                "moment we send the refund.",
            ),
            "es": (
                "¿Cuándo recibiré mi reembolso?",
                "Enviamos el reembolso **en 3 días hábiles** desde que tu devolución llega a "
                "nuestro almacén. Tu banco puede tardar de 2 a 5 días más en mostrarlo. Te "
                "avisamos por correo en cuanto lo enviamos.",
            ),
        },
    ),
    (
        "orders-shipping",
        {
            "en": (
                "Where is my order?",
                "As soon as your parcel leaves our warehouse we email you a **tracking link**. "
                "Signed in on our shop, you can also open the chat and choose *My orders* to see "
                "each order's status and tracking.\n\n"
                "No scan for two days? Tell us: we check with the carrier and make it right.",
            ),
            "es": (
                "¿Dónde está mi pedido?",
                "En cuanto tu paquete sale de nuestro almacén te enviamos un **enlace de "
                "seguimiento**. Si has iniciado sesión en la tienda, abre el chat y elige *Mis "
                "pedidos* para ver el estado y el seguimiento de cada pedido.\n\n"
                "¿Dos días sin movimiento? Escríbenos: lo revisamos con la transportista.",
            ),
        },
    ),
    (
        "orders-shipping",
        {
            "en": (
                "Shipping times and costs",
                "| Method | Time | Cost |\n|---|---|---|\n"
                "| Standard | 3-5 business days | free over $50 |\n"
                "| Express | 1-2 business days | $9 |\n"
                "| Overnight | next business day (order before 2 pm) | $19 |\n",
            ),
            "es": (
                "Plazos y costes de envío",
                "| Método | Plazo | Coste |\n|---|---|---|\n"
                "| Estándar | 3-5 días hábiles | gratis a partir de 50 $ |\n"
                "| Exprés | 1-2 días hábiles | 9 $ |\n"
                "| Urgente | siguiente día hábil (antes de las 14:00) | 19 $ |\n",
            ),
        },
    ),
    (
        "orders-shipping",
        {
            "en": (
                "Can I change or cancel my order?",
                "Within **one hour** of ordering, yes: write to us in the chat with your order "
                "number. After that the order is being packed; you can still return it for free "
                "when it arrives.",
            ),
            "es": (
                "¿Puedo cambiar o cancelar mi pedido?",
                "Durante **la primera hora** tras el pedido, sí: escríbenos en el chat con el "
                "número de pedido. Después ya se está preparando; puedes devolverlo gratis "
                "cuando llegue.",
            ),
        },
    ),
    (
        "sizing-products",
        {
            "en": (
                "Which size should I order?",
                "Measure your foot from heel to toe and pick the size:\n\n"
                "- 25 cm: US 7 / EU 40\n- 26 cm: US 8 / EU 41\n- 27 cm: US 9 / EU 42\n"
                "- 28 cm: US 10 / EU 43\n\n"
                "Between two sizes? Take the larger one: exchanges are free.",
            ),
            "es": (
                "¿Qué talla debo pedir?",
                "Mide tu pie del talón a la punta y elige la talla:\n\n"
                "- 25 cm: US 7 / EU 40\n- 26 cm: US 8 / EU 41\n- 27 cm: US 9 / EU 42\n"
                "- 28 cm: US 10 / EU 43\n\n"
                "¿Entre dos tallas? Elige la mayor: los cambios son gratis.",
            ),
        },
    ),
]


class Command(BaseCommand):
    help = "Load the demo help center articles (English and Spanish) once."

    def handle(self, *args: Any, **options: Any) -> None:
        if Article.objects.exists():
            self.stdout.write("Help center articles already loaded.")
            return
        author = User.objects.filter(is_active=True).order_by("pk").first()
        for slug, names, position in CATEGORIES:
            Category.objects.update_or_create(
                slug=slug, defaults={"names": names, "position": position}
            )
        count = 0
        for category, versions in ARTICLES:
            first = None
            for lang, (title, body) in versions.items():
                article = services.create_article(
                    title=title,
                    body=body,
                    category=category,
                    lang=lang,
                    status="published",
                    translation_of=first,
                    by=author,
                )
                first = first or article
                count += 1
        self.stdout.write(f"Help center: {count} articles in English and Spanish.")
