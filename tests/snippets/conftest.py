from __future__ import annotations

import pytest

from snippets import services
from snippets.models import Snippet


@pytest.fixture
def library(cast) -> dict[str, Snippet]:
    """Three facts agents look up all day, written by bob."""
    facts = [
        (
            "Size chart (shoes)",
            "size-chart",
            "US 9 = EU 42 = 27 cm\nUS 10 = EU 43 = 28 cm",
            ["sizing"],
        ),
        (
            "Shipping times",
            "shipping-times",
            "Standard shipping takes 3-5 business days; express 1-2.",
            ["shipping"],
        ),
        ("Return rules", "return-rules", "Free returns within 60 days, worn or not.", ["returns"]),
    ]
    return {
        shortcut: services.create_snippet(
            title=title, shortcut=shortcut, body=body, tags=tags, by=cast.bob
        )
        for title, shortcut, body, tags in facts
    }
