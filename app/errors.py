"""The one base of domain errors: a stable code, a Japanese message, and an HTTP status.

Pure (no Flask, no I/O): the engine, scanning and services raise subclasses of
``DomainError``; the web layer maps every one to a response in one place
(``app.web``), so no view catches and translates errors on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

V = TypeVar("V", bound=Callable[..., Any])


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


def answered_by(answer: Callable[[DomainError], Any]) -> Callable[[V], V]:
    """Mark a view whose refusals keep a shape of their own (JSON, or flash and stay).

    The one handler in ``app.web`` calls ``answer(error)`` for a ``DomainError`` raised by
    a view marked so; unmarked views get the error page (or JSON under ``/api/``).
    """

    def mark(view: V) -> V:
        view.answer_refusal = answer  # type: ignore[attr-defined]
        return view

    return mark


class DatabaseBusy(DomainError):
    """The database stayed locked by other writers past its wait: nothing was saved."""

    status = 503
    default_code = "database_busy"
