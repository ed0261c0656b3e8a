"""In Chromium on a live daphne: the widget and the contact form suggest help articles as the
customer types, and an agent inserts an article link from the "/" picker."""

from __future__ import annotations

import time

import pytest

from helpcenter.models import Article
from tests import factories
from tests.helpers.browser import login


def _wait_for(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.mark.browser
@pytest.mark.live
def test_widget_suggests_an_article_and_counts_that_it_answered(articles, live_server, page):
    page.goto(f"{live_server.url}/demo/shop/")
    page.get_by_role("button", name="Open chat").click()
    page.get_by_label("Your question").press_sequentially("I want to return my shoes")
    suggestion = page.get_by_role("link", name="How do I return an item?")
    suggestion.wait_for()
    with page.context.expect_page() as opened:
        suggestion.click()
    article_tab = opened.value
    article_tab.wait_for_load_state()
    assert "<h1>How do I return an item?</h1>" in article_tab.content()
    page.get_by_role("button", name="This answered my question").click()
    page.get_by_text("Glad it helped!").wait_for()
    returns = articles["returns"]
    _wait_for(lambda: Article.objects.get(pk=returns.pk).helpful_count == 1)


@pytest.mark.browser
@pytest.mark.live
def test_contact_form_suggests_articles_as_the_customer_types(articles, live_server, page):
    page.goto(f"{live_server.url}/support/new")
    page.locator("textarea[name=message]").press_sequentially("How long does shipping take?")
    link = page.get_by_role("link", name="Shipping times")
    link.wait_for()
    assert link.get_attribute("href").endswith(articles["shipping"].get_absolute_url())
    assert page.locator("[data-help-suggest] mark").count() >= 1


@pytest.mark.browser
@pytest.mark.live
def test_agent_inserts_an_article_link_from_the_picker(articles, cast, live_server, page):
    # Rows from factories: nothing to publish from this thread, where Playwright's loop runs.
    customer = factories.CustomerFactory(name="Ben Best", email="ben@shop.example")
    ticket = factories.TicketFactory(customer=customer, subject="Return?")
    factories.MessageFactory(ticket=ticket)
    login(page, live_server, cast.alice.email, cast.password)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    reply = page.locator("#reply textarea[name=body]")
    reply.click()
    reply.press_sequentially("Hi Ben, see /return")
    page.locator("#snippet-options [role=option][data-shortcut='article en']").first.wait_for()
    reply.press("Enter")
    url = live_server.url + articles["returns"].get_absolute_url()
    assert reply.input_value() == f"Hi Ben, see How do I return an item?: {url}"
