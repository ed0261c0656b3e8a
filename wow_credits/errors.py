"""Why a grant operation was refused: raised by the grant rules (services) and the company limits
(limits), answered by the API and the dialog with the error's code and status."""

from __future__ import annotations


class GrantError(ValueError):
    """A refused grant operation; `status` is the HTTP status an API answers with."""

    def __init__(self, detail: str, *, code: str, status: int = 422) -> None:
        super().__init__(detail)
        self.code = code
        self.status = status


class Conflict(GrantError):
    def __init__(self, detail: str, *, code: str = "conflict") -> None:
        super().__init__(detail, code=code, status=409)
