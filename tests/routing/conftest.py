from tests.helpers.grants import core_values  # noqa: F401 (fixture)
