"""In Chromium: a Spanish-speaking shopper (browser locale es-ES) on the demo shop. The widget
speaks Spanish, suggests the Spanish help article as they type, shows their orders, and asking
about one starts a chat with the order attached and the language remembered."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpcenter import services as help_center
from livechat.models import Conversation
from tests import factories
from tests.helpers.browser import open_console

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def live_server_env(live_server_env: dict[str, str]) -> dict[str, str]:
    # Lucía is signed in on the shop: the demo shop vouches for her email with a user_hash.
    return {**live_server_env, "SUPPORTDESK_DEMO_SHOP_LOGIN": "true"}


def test_a_spanish_visitor_gets_the_widget_in_spanish(cast, live_server, browser) -> None:
    help_center.create_article(
        title="¿Cómo devuelvo un artículo?",
        body="Puedes devolver cualquier artículo en 60 días. Las devoluciones son gratuitas.",
        category="Devoluciones",
        lang="es",
        status="published",
        by=cast.bob,
    )
    customer = factories.CustomerFactory(name="Lucía Pérez", email="lucia@shop.example")
    order = factories.OrderFactory(customer=customer, external_id="ZAP-7")
    factories.OrderItemFactory(order=order, name="Botas de cuero")
    factories.ShipmentFactory(order=order, carrier="UPS", tracking="1Z777")

    agent_context = browser.new_context(viewport={"width": 1280, "height": 900})
    shop_context = browser.new_context(locale="es-ES", viewport={"width": 1000, "height": 800})
    try:
        open_console(agent_context, live_server, cast.alice.email, cast.password)
        shop = shop_context.new_page()
        shop.set_default_timeout(15_000)
        shop.goto(f"{live_server.url}/demo/shop/?login=lucia@shop.example&name=Luc%C3%ADa")
        assert shop.locator("html").get_attribute("lang") == "es"

        shop.get_by_role("button", name="Abrir el chat con nosotros").click()
        panel = shop.get_by_role("dialog", name="Chatea con nosotros")
        panel.get_by_text("¡Hola! Cuéntanos quién eres y qué necesitas.").wait_for()
        panel.get_by_text("Estamos conectados.").wait_for()
        assert panel.get_by_role("button", name="Empezar el chat").is_visible()

        # Typing a word offers the Spanish article.
        panel.get_by_label("Tu pregunta").fill("devolver")
        panel.get_by_text("Estos artículos pueden ayudarte:").wait_for()
        panel.get_by_role("link", name="¿Cómo devuelvo un artículo?").wait_for()

        # Her orders, in Spanish; asking about one starts the chat with it attached.
        panel.get_by_role("button", name="Mis pedidos").click()
        panel.get_by_text("Pedido ZAP-7").wait_for()
        tracking = panel.get_by_role("link", name="Seguir 1Z777")
        assert "1Z777" in (tracking.get_attribute("href") or "")
        panel.get_by_role("button", name="Preguntar por este pedido").click()
        question = panel.get_by_label("Tu pregunta")
        expect(question).to_have_value("Sobre el pedido ZAP-7: ")
        question.fill("Sobre el pedido ZAP-7: ¿cuándo llega?")
        panel.get_by_role("button", name="Empezar el chat").click()
        shop.locator(".m.visitor:not(.pending)").wait_for()
        assert panel.get_by_label("Escribe tu mensaje").is_visible()

        conversation = Conversation.objects.select_related("customer", "order").get(
            visitor_email="lucia@shop.example"
        )
        assert conversation.order.external_id == "ZAP-7"
        assert conversation.language == "es" and conversation.customer.language == "es"
    finally:
        shop_context.close()
        agent_context.close()
