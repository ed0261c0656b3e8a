"""Customer-facing pages speak the customer's language (English, Spanish, German), and a test
fails when one of their templates holds text that is not marked for translation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
# Every template a customer reads: the help center, the contact form, the CSAT page, the error
# pages and every email the desk writes (the widget's words: tests/i18n/test_widget_strings.py).
CUSTOMER_TEMPLATES = sorted(
    str(path.relative_to(ROOT))
    for pattern in (
        "templates/helpcenter/*.html",
        "templates/tickets/web_form*.html",
        "templates/csat/survey.html",
        "templates/emails/*",
        "templates/errors/*.html",
        "templates/40?.html",
        "templates/500.html",
    )
    for path in ROOT.glob(pattern)
)
# Words that are the same in every language: the product's name, the mail reply prefix.
NOT_WORDS = {"Supportdesk", "Re"}
_TAG = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.S)
_BLOCKTRANS = re.compile(r"{%\s*blocktranslate.*?%}.*?{%\s*endblocktranslate\s*%}", re.S)
_HTML = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->|<[^>]*>", re.S | re.I)
_ATTR = re.compile(r'\b(?:placeholder|aria-label|title|alt)="([^"{]*[A-Za-z][^"]*)"')


def unmarked_text(source: str) -> list[str]:
    """Words a reader sees that are not inside {% translate %}/{% blocktranslate %} or a variable."""
    found = [m for m in _ATTR.findall(source) if not m.strip().startswith("{%")]
    text = _BLOCKTRANS.sub(" ", source)
    text = _HTML.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = re.sub(r"\S*/\S*", " ", text)  # paths and URLs
    found += [w for w in re.findall(r"[^\W\d_]{2,}(?:[^\S\n]+[^\W\d_]+)*", text)]
    return [w for w in found if w not in NOT_WORDS]


@pytest.mark.parametrize("path", CUSTOMER_TEMPLATES)
def test_customer_templates_mark_every_string(path: str) -> None:
    assert len(CUSTOMER_TEMPLATES) > 20
    assert unmarked_text((ROOT / path).read_text()) == [], path


def test_the_check_finds_an_unmarked_string() -> None:
    assert unmarked_text("<p>Hello there</p>") == ["Hello there"]
    assert unmarked_text('<input placeholder="Your email">') == ["Your email"]
    assert unmarked_text('<p>{% translate "Hello" %} {{ name }}</p>') == []


@pytest.mark.parametrize(
    ("accept", "lang", "heading", "button"),
    [
        ("es-ES,es;q=0.9", "es", "¿En qué podemos ayudarte?", "Buscar"),
        ("de-DE,de;q=0.9", "de", "Wie können wir helfen?", "Suchen"),
        ("fr-FR,fr;q=0.9", "en", "How can we help?", "Search"),  # unknown: English
    ],
)
def test_help_center_speaks_the_browser_language(db, accept, lang, heading, button) -> None:
    html = Client().get("/help/", HTTP_ACCEPT_LANGUAGE=accept).content.decode()
    assert f'<html lang="{lang}">' in html
    assert heading in html and f">{button}</button>" in html


def test_help_article_in_spanish_has_spanish_feedback_buttons(cast) -> None:
    from helpcenter import services

    article = services.create_article(
        title="¿Cómo devuelvo un artículo?",
        body="En 60 días.",
        category="Devoluciones",
        lang="es",
        status="published",
        by=cast.alice,
    )
    html = Client().get(article.get_absolute_url()).content.decode()
    assert "Esto respondió mi pregunta" in html and "Todavía necesito ayuda" in html


@pytest.mark.parametrize(
    ("accept", "lang", "title", "send"),
    [
        ("es", "es", "Contactar con soporte", "Enviar"),
        ("de", "de", "Support kontaktieren", "Senden"),
        ("xx", "en", "Contact support", "Send"),
    ],
)
def test_contact_form_speaks_the_browser_language(db, accept, lang, title, send) -> None:
    html = Client().get("/support/new", HTTP_ACCEPT_LANGUAGE=accept).content.decode()
    assert f'<html lang="{lang}">' in html
    assert f"<h1>{title}</h1>" in html and f">{send}</button>" in html


def _po_entries(language: str) -> list[tuple[set[str], str, str, bool]]:
    """(source files, msgid, msgstr, fuzzy) of each entry of the language's django.po."""
    text = (ROOT / "locale" / language / "LC_MESSAGES" / "django.po").read_text()
    entries = []
    for block in text.split("\n\n")[1:]:
        files = {
            ref.rsplit(":", 1)[0]
            for line in block.splitlines()
            if line.startswith("#: ")
            for ref in line[3:].split()
        }
        strings = re.findall(r'^(msgid|msgstr(?:\[\d\])?) ((?:"(?:[^"\\]|\\.)*"\n?)+)', block, re.M)
        parts = {
            name: "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', value)) for name, value in strings
        }
        msgstr = parts.get("msgstr", parts.get("msgstr[0]", ""))
        entries.append((files, parts.get("msgid", ""), msgstr, "#, fuzzy" in block))
    return entries


@pytest.mark.parametrize("language", ["es", "de"])
def test_every_customer_facing_string_is_translated(language: str) -> None:
    customer_files = {*CUSTOMER_TEMPLATES, "livechat/widget_strings.py", "csat/services.py"}
    missing = [
        msgid
        for files, msgid, msgstr, fuzzy in _po_entries(language)
        if files & customer_files and (not msgstr or fuzzy)
    ]
    assert missing == []


@pytest.mark.parametrize("language", ["es", "de"])
def test_no_catalogue_entry_is_left_fuzzy(language: str) -> None:
    # makemessages' guesses ("Updated" offered "Aktualisiert am %(date)s") are never compiled:
    # the page shows English until a translator confirms them.
    assert [msgid for _, msgid, _, fuzzy in _po_entries(language) if fuzzy] == []


@pytest.mark.parametrize("language", ["es", "de"])
def test_every_agent_page_string_is_translated_too(language: str) -> None:
    # An agent who picks Spanish or German on their profile gets the whole agent app in it.
    assert [msgid for _, msgid, msgstr, _ in _po_entries(language) if msgid and not msgstr] == []
