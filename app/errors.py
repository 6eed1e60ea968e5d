"""The one base of domain errors: a stable code, a Japanese message, and an HTTP status.

Pure (no Flask, no I/O): the engine, scanning and services raise subclasses of
``DomainError``; the web layer maps every one to a response in one place
(``app.web``), so no view catches and translates errors on its own.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refused operation: ``code`` is stable, ``message`` is Japanese, ``status`` is HTTP."""

    #: HTTP status the web layer answers with, unless an instance sets its own.
    status: int = 400
    #: Stable machine-readable code used when an instance does not pass one.
    default_code: str = "refused"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.hint = hint
        if status is not None:
            self.status = status

    def as_dict(self) -> dict[str, object]:
        """Return the error as the JSON body the API answers with."""
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        return body
