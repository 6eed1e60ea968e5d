"""The function library of the expression language: each name's types and implementation.

Only these names may be called from an expression (a whitelist); the compiler checks every
call against the types declared here.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from app.engine import ages, kana, wareki
from app.engine.postal import postal_address
from app.engine.runtime import UNKNOWN, Ctx
from app.engine.types import ANY, BOOL, DATE, NUM, PERSON, TEXT, Ty


def safe(func: Callable[..., Any], code: str) -> Callable[..., Any]:
    """Wrap a helper so that a value it cannot handle becomes UNKNOWN (with a warning)."""

    def run(ctx: Ctx, *args: Any) -> Any:
        try:
            return func(*args)
        except (ValueError, OverflowError) as exc:
            ctx.warnings.append((code, str(exc)))
            return UNKNOWN

    return run


def postal_or_unknown(code: str) -> Any:
    """Look up a postal code's address; unknown when Japan Post has no such code."""
    found = postal_address(code)
    return UNKNOWN if found is None else found


# name -> (parameter types, return type, implementation on known arguments)
STRICT_FUNCTIONS: dict[str, tuple[tuple[Ty, ...], Ty, Callable[..., Any]]] = {
    "age": ((DATE, DATE), NUM, ages.age_on),
    "age_reached_on": ((DATE, NUM), DATE, ages.age_reached_on),
    "days_between": ((DATE, DATE), NUM, lambda a, b: (b - a).days),
    "add_days": ((DATE, NUM), DATE, lambda d, n: d + timedelta(days=n)),
    "add_months": ((DATE, NUM), DATE, ages.add_months),
    "add_years": ((DATE, NUM), DATE, ages.add_years),
    "march31_after": ((DATE,), DATE, ages.march31_after),
    "year": ((DATE,), NUM, lambda d: d.year),
    "month": ((DATE,), NUM, lambda d: d.month),
    "day": ((DATE,), NUM, lambda d: d.day),
    "wareki": ((DATE,), TEXT, wareki.format_wareki_or_iso),
    "seireki": ((DATE,), TEXT, lambda d: f"{d.year}年{d.month}月{d.day}日"),
    "katakana": ((TEXT,), TEXT, kana.katakana),
    "hiragana": ((TEXT,), TEXT, kana.hiragana),
    "zenkaku": ((TEXT,), TEXT, kana.zenkaku),
    "hankaku": ((TEXT,), TEXT, kana.hankaku),
    "postal_address": ((TEXT,), TEXT, postal_or_unknown),
    "size": ((Ty("list", ANY),), NUM, len),
    "has_role": ((PERSON, TEXT), BOOL, lambda p, role: role in p.roles),
}
SPECIAL_FUNCTIONS = ("known", "default", "concat", "min", "max", "date")
FUNCTION_NAMES = tuple(
    sorted([*STRICT_FUNCTIONS, *SPECIAL_FUNCTIONS, "any", "all", "count", "filter", "sum", "first"])
)
RAISING_FUNCTIONS = {
    "add_days",
    "add_months",
    "add_years",
    "age_reached_on",
    "age",
    "march31_after",
}

ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
