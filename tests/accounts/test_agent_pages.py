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

# base.html as it was, with every part rendered on each page.
OLD_BASE = """{% load static i18n %}{% get_current_language as LANGUAGE_CODE %}<!doctype html>
<html lang="{{ LANGUAGE_CODE }}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{% block title %}Supportdesk{% endblock %} · {{ COMPANY_NAME }}</title>
  <link rel="icon" href="{% static 'favicon.svg' %}" type="image/svg+xml">
  <link rel="stylesheet" href="{% static 'css/app.css' %}">
  <script src="{% static 'vendor/htmx.min.js' %}" defer></script>
  <script src="{% static 'js/app.js' %}" defer></script>
  {% block head %}{% endblock %}
</head>
<body hx-headers='{"X-CSRFToken": "{{ csrf_token }}"}'>
  <a class="skip" href="#main">{% translate "Skip to content" %}</a>
  {% if user.is_authenticated %}
  <header class="topbar">
    <a class="brand" href="/">Supportdesk</a>
    <nav aria-label="{% translate "Main" %}">
      {% block nav %}
      <a href="/inbox/" {% if nav == "inbox" %}aria-current="page"{% endif %}>{% translate "Inbox" %}</a>
      <a href="/chats/" {% if nav == "chats" %}aria-current="page"{% endif %}>{% translate "Chats" %}</a>
      <a href="/wall/" {% if nav == "wall" %}aria-current="page"{% endif %}>{% translate "WOW wall" %}</a>
      <a href="/team/" {% if nav == "team" %}aria-current="page"{% endif %}>{% translate "Team" %}</a>
      <a href="/snippets/" {% if nav == "snippets" %}aria-current="page"{% endif %}>{% translate "Snippets" %}</a>
      <a href="/help/manage/" {% if nav == "help" %}aria-current="page"{% endif %}>{% translate "Help center" %}</a>
      {% if user.role == "admin" %}<a href="/mailboxes/" {% if nav == "mailboxes" %}aria-current="page"{% endif %}>{% translate "Mailboxes" %}</a>{% endif %}
      {% if user.is_manager %}<a href="/teams/" {% if nav == "teams" %}aria-current="page"{% endif %}>{% translate "Teams" %}</a>{% endif %}
      {% if user.is_manager %}<a href="/reports/" {% if nav == "reports" %}aria-current="page"{% endif %}>{% translate "Reports" %}</a>{% endif %}
      {% if user.is_manager %}<a href="/audit/" {% if nav == "audit" %}aria-current="page"{% endif %}>{% translate "Audit" %}</a>{% endif %}
      {% if EMBEDDED_PROFILE %}<a href="{% url 'mailer:outbox' %}" {% if nav == "outbox" %}aria-current="page"{% endif %}>{% translate "Outbox" %}</a>{% endif %}
      {% endblock %}
    </nav>
    <div class="who">
      <a href="{% url 'accounts:profile' %}" title="{% translate "Your profile: language and timezone" %}">{{ user.display_name }}</a> <small>({{ user.role }}{% if user.is_trainee %}, {% translate "trainee" %}{% endif %})</small>
      <form method="post" action="{% url 'logout' %}">{% csrf_token %}<button class="link">{% translate "Log out" %}</button></form>
    </div>
  </header>
  {% endif %}
  <main id="main">
    {% if messages %}<ul class="flash">{% for m in messages %}<li class="{{ m.tags }}">{{ m }}</li>{% endfor %}</ul>{% endif %}
    {% block content %}{% endblock %}
  </main>
  {% if user.is_authenticated %}{% load team_tags %}<script src="{% static 'js/activity.js' %}" data-activity-url="{% url 'team:heartbeat' %}" data-interval="{{ ACTIVITY_INTERVAL }}" data-idle-limit="300" defer></script>
{% endif %}
  {% block scripts %}{% endblock %}
</body>
</html>
"""


def _render(source: str, user, context: dict) -> str:
    request = RequestFactory().get("/inbox/")
    request.user = user
    request.META["CSRF_COOKIE"] = "k" * 32  # the same secret for both renders
    html = engines["django"].from_string(source).render(context, request)
    # The masked token differs on every render by design: compare the pages around it.
    return re.sub(r'(X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', r"\1-", html)


@pytest.mark.parametrize("embedded", [False, True])
def test_the_frame_prints_what_it_printed_for_every_page_role_and_language(cast, embedded):
    from django.conf import settings

    interval = settings.SUPPORTDESK_ACTIVITY_HEARTBEAT_SECONDS
    seen = set()
    with override_settings(EMBEDDED=embedded):
        for language in ("en", "de", "es"):
            for user in (cast.alice, cast.carol, cast.dave):
                for nav in ("inbox", "chats", "mailboxes", "audit", "outbox", "", "other"):
                    with translation.override(language):
                        context = {"nav": nav, "EMBEDDED_PROFILE": embedded}
                        old = _render(OLD_BASE, user, {**context, "ACTIVITY_INTERVAL": interval})
                        for _ in range(2):  # the second time from memory
                            new = _render('{% extends "base.html" %}', user, context)
                            assert new == old, (language, user.role, nav)
                    if nav == "inbox":
                        seen.add(new)
    assert len(seen) == 3 * 3  # each language and role prints its own frame


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
