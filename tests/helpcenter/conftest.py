from __future__ import annotations

import pytest

from helpcenter import services
from helpcenter.models import Article


@pytest.fixture
def articles(cast) -> dict[str, Article]:
    """A small published help center by bob: returns (en + es), shipping (en), a draft (en)."""
    returns = services.create_article(
        title="How do I return an item?",
        body="You can return anything within **60 days**. Returns are free: we email a label.",
        category="Returns & refunds",
        lang="en",
        status="published",
        by=cast.bob,
    )
    devoluciones = services.create_article(
        title="¿Cómo devuelvo un artículo?",
        body="Puedes devolver cualquier artículo en 60 días. Las devoluciones son gratuitas.",
        category="returns-refunds",
        lang="es",
        status="published",
        translation_of=returns,
        by=cast.bob,
    )
    shipping = services.create_article(
        title="Shipping times",
        body="Standard shipping takes 3-5 business days; express 1-2 business days.",
        category="Orders & shipping",
        lang="en",
        status="published",
        by=cast.bob,
    )
    draft = services.create_article(
        title="Returning gift cards (draft)",
        body="Gift cards cannot be returned.",
        category="returns-refunds",
        lang="en",
        status="draft",
        by=cast.bob,
    )
    return {"returns": returns, "devoluciones": devoluciones, "shipping": shipping, "draft": draft}
