from __future__ import annotations

from tests.helpers.grants import core_values, order  # noqa: F401 (fixtures)
from tests.helpers.reliability import slow_shop, slow_smtp  # noqa: F401 (fixtures)
