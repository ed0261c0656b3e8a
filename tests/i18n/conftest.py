from tests.helpers.grants import order  # noqa: F401 (a fixture)
