"""What an evaluation runs on: the UNKNOWN value, household members and the context.

Compiled expressions (``app.engine.compiler``) are functions of a ``Ctx``; ``evaluate``
builds one per call. Nothing here knows about YAML or types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any


class _Unknown:
    """The value of a fact nobody has given yet."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; compare with `is UNKNOWN`")


UNKNOWN: Any = _Unknown()
MAX_VARS = 8  # nesting depth of quantifiers/binders an expression may use

FactKey = tuple[int | None, str]  # (member index or None for a case fact, fact id)


class Person:
    """A household member at evaluation time: index, given facts and roles."""

    __slots__ = ("index", "facts", "roles")

    def __init__(self, index: int, facts: dict[str, Any], roles: tuple[str, ...]) -> None:
        self.index = index
        self.facts = facts
        self.roles = roles

    def __repr__(self) -> str:
        return f"household[{self.index}]"


class Ctx:
    """Everything one evaluation reads: facts, date, parameters in force, and its scratch lists."""

    __slots__ = (
        "case",
        "persons",
        "as_of",
        "params",
        "muni",
        "role_holders",
        "unk",
        "reads",
        "vars",
        "cache",
        "warnings",
    )

    def __init__(
        self,
        case: dict[str, Any],
        persons: list[Person],
        as_of: date,
        params: Mapping[str, Any],
        muni: Mapping[str, Any],
    ) -> None:
        self.case = case
        self.persons = persons
        self.as_of = as_of
        self.params = params
        self.muni = muni
        holders: dict[str, Person] = {}
        for person in persons:
            for role in person.roles:
                holders.setdefault(role, person)
        self.role_holders = holders
        self.unk: list[FactKey] = []
        self.reads: list[FactKey] = []
        self.vars: list[Any] = [None] * MAX_VARS
        self.cache: dict[FactKey, tuple[Any, tuple[FactKey, ...], tuple[FactKey, ...]]] = {}
        self.warnings: list[tuple[str, str]] = []

    def value_of(self, key: FactKey) -> Any:
        """Return the value of a fact key as evaluation saw it (given or derived)."""
        hit = self.cache.get(key)
        if hit is not None:
            return hit[0]
        index, fid = key
        if index is None:
            if fid == "as_of":
                return self.as_of
            if fid.startswith("param."):
                return self.params.get(fid[6:], UNKNOWN)
            return self.case.get(fid, UNKNOWN)
        if fid == "roles":
            return list(self.persons[index].roles)
        return self.persons[index].facts.get(fid, UNKNOWN)


Fn = Callable[[Ctx], Any]
