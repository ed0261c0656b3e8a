"""The agent pages' frame (templates/base.html) prints what it printed before its fixed parts
were remembered: the top bar's links per page, role, profile and language (`{% agent_nav %}`),
the assets and fixed words (`{% fixed %}`), the activity script."""

from __future__ import annotations

import re

import pytest
from django.template import engines
from django.test import Client, RequestFactory, override_settings
from django.utils import translation

from accounts.templatetags import agent_pages

pytestmark = pytest.mark.django_db


def _render(source: str, user, context: dict) -> str:
    request = RequestFactory().get("/inbox/")
    request.user = user
    request.META["CSRF_COOKIE"] = "k" * 32  # the same secret for both renders
    html = engines["django"].from_string(source).render(context, request)
    # The masked token differs on every render by design: compare the pages around it.
    return re.sub(r'(X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', r"\1-", html)


@pytest.mark.parametrize("embedded", [False, True])
def test_the_remembered_frame_is_the_frame_rendered_afresh_for_every_page_role_and_language(
    cast, embedded, settings
):
    # With DEBUG on, every remembered part ({% agent_nav %}, {% fixed %}, the activity script)
    # is rendered on each page: that is the reference the remembered copies must equal.
    seen = set()
    with override_settings(EMBEDDED=embedded):
        for language in ("en", "de", "es"):
            for user in (cast.alice, cast.carol, cast.dave):
                for nav in ("inbox", "chats", "mailboxes", "audit", "outbox", "", "other"):
                    context = {"nav": nav, "EMBEDDED_PROFILE": embedded}
                    with translation.override(language):
                        settings.DEBUG = True
                        fresh = _render('{% extends "base.html" %}', user, context)
                        settings.DEBUG = False
                        for _ in range(2):  # the second time from memory
                            remembered = _render('{% extends "base.html" %}', user, context)
                            assert remembered == fresh, (language, user.role, nav)
                    if nav == "inbox":
                        seen.add(remembered)
    assert len(seen) == 3 * 3  # each language and role prints its own frame


def test_each_role_sees_its_own_links(cast, settings):
    settings.DEBUG = False
    with translation.override("en"):
        pages = {
            user.role: _render('{% extends "base.html" %}', user, {"nav": "chats"})
            for user in (cast.alice, cast.carol, cast.dave)
        }
    assert 'href="/chats/" aria-current="page"' in pages["agent"]
    assert 'href="/reports/"' not in pages["agent"]
    assert 'href="/mailboxes/"' not in pages["agent"]
    assert 'href="/reports/"' in pages["manager"]
    assert 'href="/mailboxes/"' not in pages["manager"]
    assert 'href="/mailboxes/"' in pages["admin"]


def test_a_changed_role_shows_its_links_on_the_next_page(cast):
    client = Client()
    client.force_login(cast.alice)
    assert 'href="/reports/"' not in client.get("/inbox/").content.decode()
    cast.alice.role = "manager"
    cast.alice.save(update_fields=["role"])
    assert 'href="/reports/"' in client.get("/inbox/").content.decode()
    cast.alice.role = "agent"
    cast.alice.save(update_fields=["role"])
    assert 'href="/reports/"' not in client.get("/inbox/").content.decode()


def test_the_nav_is_rendered_each_time_in_debug(cast, settings, tmp_path):
    settings.DEBUG = True
    agent_pages._nav.cache_clear()
    with translation.override("en"):
        html = _render('{% extends "base.html" %}', cast.alice, {"nav": "inbox"})
    assert 'href="/inbox/" aria-current="page"' in html
    assert agent_pages._nav.cache_info().currsize == 0
