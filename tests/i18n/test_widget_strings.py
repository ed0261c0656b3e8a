"""The widget speaks English, Spanish and German: English is built into widget.js, another
language's strings come from one small cached endpoint, and no visible text in widget.js is
left out of the table."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from livechat.widget_strings import STRINGS, strings

WIDGET = Path(__file__).resolve().parents[2] / "static" / "widget.js"


def _source() -> str:
    return WIDGET.read_text()


def built_in_english() -> dict[str, str]:
    match = re.search(r"var EN = /\*strings\*/(\{.*?\})/\*end\*/;", _source(), re.S)
    assert match, "widget.js has no EN table"
    return json.loads(match.group(1))


def test_widget_js_carries_exactly_the_english_strings() -> None:
    assert built_in_english() == strings("en")


def test_widget_js_knows_the_languages_the_site_speaks() -> None:
    langs = re.search(r"var LANGS = (\[.*?\]);", _source()).group(1)
    assert json.loads(langs) == [code for code, _ in settings.LANGUAGES]


def test_widget_js_stays_under_15_kb_gzipped_with_its_strings() -> None:
    raw = WIDGET.read_bytes()
    assert len(gzip.compress(raw, compresslevel=9)) < 15_000
    for language in ("es", "de"):
        extra = json.dumps({"lang": language, "strings": strings(language)}).encode()
        assert len(gzip.compress(extra, compresslevel=9)) < 2_500


SPANISH = {
    "chat": "Chatea con nosotros",
    "start": "Empezar el chat",
    "waiting": "Esperando a un agente…",
    "away_back": "Ahora no estamos; volvemos a las {when} (tu hora).",
    "offline": "Ahora mismo no hay nadie conectado. Deja un mensaje y te responderemos por correo.",
    "orders": "Mis pedidos",
    "ask": "Preguntar por este pedido",
    "may_help": "Estos artículos pueden ayudarte:",
    "send_rating": "Enviar valoración",
    "failed": "Algo salió mal. Inténtalo de nuevo.",
    "st_in_transit": "En camino",
}
GERMAN = {
    "chat": "Chatte mit uns",
    "start": "Chat starten",
    "waiting": "Warten auf einen Mitarbeiter…",
    "away_back": "Wir sind gerade nicht da, zurück um {when} (deine Zeit).",
    "offline": "Gerade ist niemand online. Hinterlass eine Nachricht, wir antworten per E-Mail.",
    "orders": "Meine Bestellungen",
    "ask": "Zu dieser Bestellung fragen",
    "may_help": "Diese Artikel können helfen:",
    "send_rating": "Bewertung senden",
    "failed": "Etwas ist schiefgegangen. Bitte versuche es noch einmal.",
    "st_in_transit": "Unterwegs",
}


@pytest.mark.parametrize(("lang", "expected"), [("es", SPANISH), ("de", GERMAN)])
def test_the_strings_endpoint_serves_one_language(db, lang, expected) -> None:
    response = Client().get(f"/api/v1/widget/strings?lang={lang}")
    assert response.status_code == 200
    assert "max-age=3600" in response["Cache-Control"]
    body = response.json()
    assert body["lang"] == lang and set(body["strings"]) == set(STRINGS)
    for key, text in expected.items():
        assert body["strings"][key] == text


@pytest.mark.parametrize("lang", ["es", "de"])
def test_every_widget_string_is_translated_with_its_placeholders(lang) -> None:
    english, translated = strings("en"), strings(lang)
    same = {key for key in STRINGS if translated[key] == english[key]}
    assert same <= {"name"}, same  # "Name" is German too
    for key, text in english.items():
        assert re.findall(r"\{\w+\}", translated[key]) == re.findall(r"\{\w+\}", text), key


@pytest.mark.parametrize(
    ("query", "header", "served"),
    [
        ("lang=es-ES", "", "es"),
        ("lang=DE", "", "de"),
        ("lang=fr", "es", "en"),  # asked for one we do not speak: English, not the header's
        ("lang=%3Cscript%3E", "", "en"),
        ("", "de-CH,de;q=0.9", "de"),  # no lang: Accept-Language decides
        ("", "pt-BR", "en"),
    ],
)
def test_an_unknown_language_falls_back_to_english(db, query, header, served) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE=header).get(f"/api/v1/widget/strings?{query}")
    assert response.status_code == 200
    assert response.json()["lang"] == served
    assert response.json()["strings"]["chat"] == strings(served)["chat"]


def test_a_too_long_language_code_is_refused_cleanly(db) -> None:
    response = Client().get("/api/v1/widget/strings?lang=" + "x" * 5000)
    assert response.status_code == 422


# The visible words of widget.js: what el(...) shows, labels, placeholders, titles and texts set
# later. Each must come from t("key") (the EN table), never a literal.
_VISIBLE = [
    re.compile(r"\bel\([^;]*?\}, \"([^\"]*[A-Za-z]{2}[^\"]*)\"\)"),
    re.compile(r"\"aria-label\": \"([^\"]+)\""),
    re.compile(r"\b(?:placeholder|title): \"([^\"]+)\""),
    re.compile(r"\.textContent = [^;]*?\"([^\"]*[A-Za-z]{2}[^\"]*)\""),
    re.compile(r"new Error\(\"([^\"]+)\"\)"),
    re.compile(r"\bfield\([a-z]+, \"([^\"]+)\""),
    re.compile(r"failed: [^}]*?\"([^\"]*[A-Za-z]{2}[^\"]*)\""),
]


def unmarked_widget_text(source: str) -> list[str]:
    source = re.sub(r"var EN = /\*strings\*/.*?/\*end\*/;", "", source, flags=re.S)
    source = re.sub(r"var CSS =.*?;\n", "", source, flags=re.S)
    source = re.sub(r"^\s*//.*$|/\*.*?\*/", "", source, flags=re.M | re.S)
    return [text for pattern in _VISIBLE for text in pattern.findall(source)]


def test_widget_js_shows_no_text_outside_its_string_table() -> None:
    assert unmarked_widget_text(_source()) == []


def test_the_widget_check_finds_an_unmarked_string() -> None:
    assert unmarked_widget_text('x.appendChild(el("p", {}, "Hello there"));') == ["Hello there"]
    assert unmarked_widget_text('var i = el("input", { "aria-label": "Your code" });') == [
        "Your code"
    ]
    assert unmarked_widget_text('status.textContent = "Try " + n + " again";') == ["Try "]
    assert unmarked_widget_text('x.appendChild(el("p", {}, t("hi")));') == []
