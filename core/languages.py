"""The languages customers are spoken to in (settings.LANGUAGES: English, Spanish, German).

A code from outside (`es-ES`, `de_AT`, a Content-Language or Accept-Language header, the widget's
`lang` option) becomes one of ours with `supported()`; anything else is "" and callers fall back
to English (settings.LANGUAGE_CODE).
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

# A header is only read this far: a hostile one stays cheap to parse.
MAX_HEADER = 500


def supported(code: str | None) -> str:
    """Our language for `code` (`es-ES` -> `es`), or "" when we do not speak it."""
    code = (code or "").strip().replace("_", "-").lower()[:35]
    if not code or code == "*":
        return ""
    try:
        found = translation.get_supported_language_variant(code)
    except LookupError:
        return ""
    return found if found in dict(settings.LANGUAGES) else ""


def from_header(value: str | None) -> str:
    """The first language we speak in a Content-Language (`es, en`) or Accept-Language
    (`es-ES,es;q=0.9`) header value; "" when none."""
    value = (value or "")[:MAX_HEADER]
    if ";" in value or "q=" in value:
        candidates = [code for code, _ in parse_accept_lang_header(value)]
    else:
        candidates = [part.strip() for part in value.split(",")]
    for code in candidates:
        found = supported(code)
        if found:
            return found
    return ""


def or_default(code: str | None) -> str:
    """`code` when we speak it, else English."""
    return supported(code) or settings.LANGUAGE_CODE
