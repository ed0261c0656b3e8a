"""Screenshots for the README, taken from the demo data so they stay current.

    make screenshots        # or: .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts the embedded profile on a throwaway SQLite file and a free port (migrate, load_demo, serve),
then drives Chromium through Playwright as the demo people: the inbox and a ticket as Alice, the
chat console with two chats and the grant drawer open, the widget on a phone as a shop visitor,
the WOW wall and the reports as Carol. Writes one PNG per view.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from services import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "demo-pass-2026"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PRODUCTION_ONLY = ("DATABASE_URL", "REDIS_URL", "EMAIL_HOST", "EMAIL_PORT", "SITE_URL")


@contextlib.contextmanager
def demo_server(workdir: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ONLY}
    env.update(
        SQLITE_PATH=str(workdir / "demo.sqlite3"),
        MEDIA_ROOT=str(workdir / "media"),
        PYTHONUNBUFFERED="1",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (["migrate", "--noinput"], ["load_demo"]):
        subprocess.run([*manage, *command], env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    log = (workdir / "serve.log").open("wb")
    server = subprocess.Popen(
        [*manage, "serve", "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(15)


def login(page, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def visitor_chat(browser, base: str, name: str, email: str, question: str, *, phone: bool = False):
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 800}
    context = browser.new_context(viewport=size, device_scale_factor=2 if phone else 1)
    shop = context.new_page()
    shop.goto(f"{base}/demo/shop/")
    shop.get_by_role("button", name="Open chat").click()
    shop.get_by_label("Name").first.fill(name)
    shop.get_by_label("Email").first.fill(email)
    shop.get_by_label("Your question").fill(question)
    shop.get_by_role("button", name="Start chat").click()
    shop.locator(".m.visitor:not(.pending)").first.wait_for()
    return shop


def take(out: Path, base: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    shots: list[Path] = []
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        desk = browser.new_context(viewport={"width": 1440, "height": 900})
        alice = desk.new_page()
        login(alice, base, "alice@demo.supportdesk")

        def shot(page, name: str) -> None:
            path = out / f"{name}.png"
            page.screenshot(path=str(path))
            shots.append(path)

        alice.goto(f"{base}/inbox/")
        shot(alice, "inbox")
        alice.locator("#ticket-table a[href^='/tickets/']").first.click()
        alice.wait_for_load_state("networkidle")
        shot(alice, "ticket")

        alice.goto(f"{base}/chats/")
        alice.get_by_text("Connected").wait_for()
        sam = visitor_chat(browser, base, "Sam Best", "sam.best@example.com",
                           "My shoes for the wedding went to 12 Chapel Rd, I live at 21!")  # fmt: skip
        phone = visitor_chat(browser, base, "Ana Ruiz", "ana@example.com",
                             "Is the blue dress back in size S?", phone=True)  # fmt: skip
        alice.bring_to_front()
        for who in ("Sam Best", "Ana Ruiz"):
            join = alice.get_by_role("button", name=f"Join chat with {who}")
            with contextlib.suppress(Exception):  # auto-routing may have assigned it already
                join.click(timeout=5_000)
        alice.get_by_role("tab").first.wait_for()
        alice.get_by_role("tab").first.click()
        pane = alice.locator(".chat-pane:not([hidden])")
        pane.locator("textarea[name=body]").fill(
            "I'm so sorry, Sam. A new pair goes out overnight to 21 Chapel Rd."
        )
        pane.get_by_role("button", name="Send").click()
        pane.get_by_role("button", name="Make it right in chat", exact=False).click()
        pane.locator("form.grant-dialog textarea[name=reason]").fill(
            "Best man's shoes went to the wrong address the day before the wedding"
        )
        alice.wait_for_timeout(500)
        shot(alice, "console")

        phone.bring_to_front()
        phone.wait_for_timeout(500)
        shot(phone, "widget-phone")
        sam.context.close()
        phone.context.close()

        manager = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        login(manager, base, "carol@demo.supportdesk")
        for path, name in (("/wall/", "wall"), ("/reports/", "reports")):
            manager.goto(f"{base}{path}")
            manager.wait_for_load_state("networkidle")
            shot(manager, name)
        browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, demo_server(Path(tmp)) as base:
        for path in take(out, base):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
