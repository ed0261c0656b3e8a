"""System emails: every one is rendered from its templates by one helper, and every email that
continues a thread gets its In-Reply-To and References the same way.

Templates: `templates/emails/<name>-subject.txt`, `<name>-body.txt` and, when the email has an
HTML part, `<name>-body.html` (issue 11's translations go there). Text templates wrap their body
in `{% autoescape off %}`: they are not HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import translation

from core import languages

# References: the thread's first message and its latest ones, bounded so headers stay small.
MAX_REFERENCES = 10


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body_text: str
    body_html: str  # "" when the email has no HTML part


def single_line(value: str) -> str:
    """Header injection: a CR or LF in a subject or a name must never start a new header."""
    return " ".join(value.splitlines()).strip()


def render_email(name: str, context: Mapping[str, Any], *, language: str = "") -> RenderedEmail:
    """The subject (one line), text body and HTML body (if it has a template) of email `name`,
    written in `language` (a customer's: `customers.services.language_of`); English when it is
    empty or one we do not speak. Never the language of the request that happens to send it."""
    with translation.override(languages.or_default(language)):
        subject = render_to_string(f"emails/{name}-subject.txt", dict(context))
        text = render_to_string(f"emails/{name}-body.txt", dict(context))
        try:
            html_template = get_template(f"emails/{name}-body.html")
        except TemplateDoesNotExist:
            html = ""
        else:
            html = html_template.render(dict(context))
    return RenderedEmail(subject=single_line(subject), body_text=text, body_html=html)


def thread_headers(message_ids: Sequence[str]) -> tuple[str, str]:
    """In-Reply-To and References for the next email of a thread whose emails had these
    Message-IDs, oldest first; ("", "") for a thread with none."""
    if not message_ids:
        return "", ""
    ids = list(message_ids)
    chain = [ids[0], *ids[-(MAX_REFERENCES - 1) :]] if len(ids) > MAX_REFERENCES else ids
    return ids[-1], " ".join(dict.fromkeys(chain))
