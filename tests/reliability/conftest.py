from __future__ import annotations

from tests.reliability.helpers import slow_shop, slow_smtp  # noqa: F401 (fixtures)
from tests.wow_credits.conftest import core_values, order  # noqa: F401 (fixtures)
