"""The browser side of tests: logging in, the agent's console, a visitor's chat on the demo
shop, and axe-core's accessibility scan. The `browser` and `page` fixtures are in tests/conftest.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.servers import ROOT, ServerProcess

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


AXE_JS = os.environ.get(
    "SUPPORTDESK_AXE_JS", str(ROOT / "var/npm/node_modules/axe-core/axe.min.js")
)


def axe_violations(page, *, impacts: tuple[str, ...] = ("critical", "serious")) -> list[dict]:
    """axe-core's violations on the page as it is now, of the given impacts. The page's context
    needs bypass_csp=True: our CSP refuses injected scripts, as it should."""
    if not Path(AXE_JS).exists():
        pytest.fail(f"axe-core not found at {AXE_JS}: `make test` installs it from npm")
    page.add_script_tag(path=AXE_JS)
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(" "))}))"""
    )
    return [v for v in violations if v["impact"] in impacts]


def login(page, server: ServerProcess, email: str, password: str) -> None:
    page.goto(f"{server.url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def open_console(context, server: ServerProcess, email: str, password: str, *, timeout=15_000):
    """An agent's page logged in and connected in the chat console."""
    agent = context.new_page()
    agent.set_default_timeout(timeout)
    login(agent, server, email, password)
    agent.goto(f"{server.url}/chats/")
    agent.get_by_text("Connected").wait_for()
    return agent


def start_shop_chat(
    context,
    server: ServerProcess,
    *,
    name: str,
    email: str,
    question: str,
    timeout=15_000,
    signed_in: bool = False,
    path: str = "/demo/shop/",
):
    """A visitor on the demo shop who opens the widget and starts a chat; returns the page once
    the first line is committed (no longer pending). `signed_in`: the shop vouches for the email
    with a user_hash (the server needs SUPPORTDESK_DEMO_SHOP_LOGIN=true)."""
    from urllib.parse import urlencode

    shop = context.new_page()
    shop.set_default_timeout(timeout)
    if signed_in:
        path += ("&" if "?" in path else "?") + urlencode({"login": email, "name": name})
    shop.goto(f"{server.url}{path}")
    shop.get_by_role("button", name="Open chat").click()
    shop.get_by_label("Name").first.fill(name)
    shop.get_by_label("Email").first.fill(email)
    shop.get_by_label("Your question").fill(question)
    shop.get_by_role("button", name="Start chat").click()
    shop.locator(".m.visitor:not(.pending)").wait_for()
    return shop
