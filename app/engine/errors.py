"""Errors of the engine: load problems with their position, and fact values a person mistyped."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from app.errors import DomainError


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in the rules: where, which rule, what, and how to fix it."""

    file: str
    line: int
    column: int
    ident: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        hint = f"（{self.hint}）" if self.hint else ""
        return f"{self.file}:{self.line}:{self.column}: {self.ident}: {self.message}{hint}"


class LoadError(DomainError):
    """The rules could not be loaded; ``problems`` lists every problem found, in file order."""

    default_code = "rules_invalid"
    status = 422

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__(
            f"ルールを読み込めません（問題 {len(self.problems)} 件）。各行の位置を直してください。",
            hint="\n".join(str(p) for p in self.problems),
        )

    def __str__(self) -> str:
        """Return every problem, one per line, as file:line:column: message."""
        return "\n".join(str(p) for p in self.problems)


class FactValueError(DomainError, ValueError):
    """A value typed for a fact is not valid; the message is Japanese, for the person typing."""

    default_code = "fact_value_invalid"
    status = 422

    def __init__(self, fact: str, message: str) -> None:
        self.fact = fact
        super().__init__(message)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Return a 「'x' ではありませんか」 hint for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"'{close[0]}' ではありませんか" if close else ""
