"""CSAT in tests: the survey link's token in an email."""

from __future__ import annotations

import re

LINK = re.compile(r"https?://[^\s\"<>]+/csat/([^/\s\"<>?]+)/")


def token_in(text: str) -> str:
    match = LINK.search(text)
    assert match, f"no survey link in {text!r}"
    return match.group(1)
