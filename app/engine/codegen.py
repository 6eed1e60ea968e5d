"""Code generation: the closures a compiled expression is made of (three-valued logic).

Each builder returns a plain function of the evaluation context. Unknown facts evaluate to
``UNKNOWN`` and are recorded in ``ctx.unk``; a node that yields a known value leaves no
unknowns of its own recorded (nodes that can turn unknown into known truncate ``ctx.unk``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.engine.runtime import MAX_VARS, UNKNOWN, Ctx, FactKey, Fn, Person

# The application date read as a source: results say when they depended on it.
_AS_OF_KEY: FactKey = (None, "as_of")


def as_of(c: Ctx) -> Any:
    """Return the application date, noting it as a source."""
    c.reads.append(_AS_OF_KEY)
    return c.as_of


def var(slot: int) -> Fn:
    """Return a closure reading a bound variable's slot."""
    return lambda c: c.vars[slot]


def param(pid: str) -> Fn:
    """Return a closure reading a parameter's value in force."""
    key: FactKey = (None, f"param.{pid}")

    def value(c: Ctx) -> Any:
        c.reads.append(key)
        return c.params.get(pid, UNKNOWN)

    return value


def muni(oid: str) -> Fn:
    """Return a closure reading a municipality option."""
    return lambda c: c.muni[oid]


def role(role: str) -> Fn:
    """Return a closure resolving a single role to its member, or unknown."""
    key: FactKey = (None, f"@{role}")

    def holder(c: Ctx) -> Any:
        person = c.role_holders.get(role)
        if person is None:
            c.unk.append(key)
            return UNKNOWN
        return person

    return holder


def compute(
    c: Ctx, key: FactKey, fn: Fn, person: Person | None
) -> tuple[Any, tuple[FactKey, ...], tuple[FactKey, ...]]:
    """Evaluate a derived fact once per evaluation and remember what it needed and read."""
    mark_unk, mark_reads = len(c.unk), len(c.reads)
    saved = c.vars
    c.vars = [person] + [None] * (MAX_VARS - 1)
    try:
        value = fn(c)
    finally:
        c.vars = saved
    hit = (value, tuple(c.unk[mark_unk:]), tuple(c.reads[mark_reads:]))
    del c.unk[mark_unk:]
    del c.reads[mark_reads:]
    c.cache[key] = hit
    return hit


def not_(v: Any) -> Any:
    """Negate a three-valued boolean."""
    return UNKNOWN if v is UNKNOWN else not v


def connective(lf: Fn, rf: Fn, decisive: bool) -> Fn:
    """Return ``and`` (``decisive`` False) or ``or`` (True) in three-valued logic.

    A ``decisive`` side settles it, and unknowns met on the way no longer matter; otherwise
    the right side decides when the left is the opposite value, else the answer is unknown.
    """

    def connect(c: Ctx) -> Any:
        mark = len(c.unk)
        left = lf(c)
        if left is decisive:
            return decisive
        right = rf(c)
        if right is decisive:
            del c.unk[mark:]
            return decisive
        if left is (not decisive):
            return right
        return UNKNOWN

    return connect


def and_(lf: Fn, rf: Fn) -> Fn:
    """Return three-valued ``and``: false wins, and unknowns that did not matter are dropped."""
    return connective(lf, rf, decisive=False)


def or_(lf: Fn, rf: Fn) -> Fn:
    """Return three-valued ``or``: true wins, and unknowns that did not matter are dropped."""
    return connective(lf, rf, decisive=True)


def strict2(lf: Fn, rf: Fn, op: Callable[[Any, Any], Any]) -> Fn:
    """Return a binary operation that is unknown when either side is."""

    def apply(c: Ctx) -> Any:
        a = lf(c)
        b = rf(c)
        if a is UNKNOWN or b is UNKNOWN:
            return UNKNOWN
        return op(a, b)

    return apply


def divide(lf: Fn, rf: Fn) -> Fn:
    """Return division that warns and is unknown on division by zero."""

    def apply(c: Ctx) -> Any:
        a = lf(c)
        b = rf(c)
        if a is UNKNOWN or b is UNKNOWN:
            return UNKNOWN
        if b == 0:
            c.warnings.append(("division_by_zero", "0で割る計算がありました"))
            return UNKNOWN
        return a / b

    return apply


def call(impl: Callable[..., Any], fns: list[Fn]) -> Fn:
    """Return a call of a helper on known arguments (unknown if any argument is)."""
    if len(fns) == 1:
        (f0,) = fns

        def one(c: Ctx) -> Any:
            a = f0(c)
            return UNKNOWN if a is UNKNOWN else impl(a)

        return one
    if len(fns) == 2:
        f0, f1 = fns

        def two(c: Ctx) -> Any:
            a = f0(c)
            b = f1(c)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            return impl(a, b)

        return two

    def many(c: Ctx) -> Any:
        values = [f(c) for f in fns]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        return impl(*values)

    return many


def call_safe(impl: Callable[..., Any], fns: list[Fn]) -> Fn:
    """Return a call whose helper may reject a value; that becomes a warning and unknown."""

    def run(c: Ctx) -> Any:
        values = [f(c) for f in fns]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        return impl(c, *values)

    return run


def known(fn: Fn) -> Fn:
    """Return ``known(x)``: whether x is known, never unknown itself."""

    def known(c: Ctx) -> Any:
        mark = len(c.unk)
        value = fn(c)
        del c.unk[mark:]
        return value is not UNKNOWN

    return known


def default(fn: Fn, fallback: Fn) -> Fn:
    """Return ``default(x, y)``: x, or y when x is unknown."""

    def default(c: Ctx) -> Any:
        mark = len(c.unk)
        value = fn(c)
        if value is UNKNOWN:
            del c.unk[mark:]
            return fallback(c)
        return value

    return default


def concat(fns: list[Fn]) -> Fn:
    """Return text concatenation of known parts."""

    def concat(c: Ctx) -> Any:
        values = [f(c) for f in fns]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        return "".join(str(v) for v in values)

    return concat


def quantify(sf: Fn, bf: Fn, slot: int, decisive: bool) -> Fn:
    """Return ``any`` (``decisive`` True) or ``all`` (False) in three-valued logic.

    The first item whose condition is ``decisive`` settles it (and the unknowns met on the
    way no longer matter); otherwise the answer is unknown if some item was, else the
    opposite of ``decisive``.
    """

    def quantify(c: Ctx) -> Any:
        items = sf(c)
        if items is UNKNOWN:
            return UNKNOWN
        mark = len(c.unk)
        undecided = False
        for item in items:
            c.vars[slot] = item
            value = bf(c)
            if value is decisive:
                del c.unk[mark:]
                return decisive
            if value is UNKNOWN:
                undecided = True
        return UNKNOWN if undecided else not decisive

    return quantify


def any_(sf: Fn, bf: Fn, slot: int) -> Fn:
    """Return ``any``: true once one item is true, unknown if some are unknown, else false."""
    return quantify(sf, bf, slot, decisive=True)


def all_(sf: Fn, bf: Fn, slot: int) -> Fn:
    """Return ``all``: false once one item is false, unknown if some are unknown, else true."""
    return quantify(sf, bf, slot, decisive=False)


def filter_(sf: Fn, bf: Fn, slot: int) -> Fn:
    """Return ``filter``: the matching items, unknown if any item's condition is."""

    def filter_(c: Ctx) -> Any:
        items = sf(c)
        if items is UNKNOWN:
            return UNKNOWN
        out = []
        undecided = False
        for item in items:
            c.vars[slot] = item
            value = bf(c)
            if value is UNKNOWN:
                undecided = True
            elif value:
                out.append(item)
        return UNKNOWN if undecided else out

    return filter_


def count(sf: Fn, bf: Fn, slot: int) -> Fn:
    """Return ``count``: how many items match."""
    inner = filter_(sf, bf, slot)

    def count(c: Ctx) -> Any:
        items = inner(c)
        return UNKNOWN if items is UNKNOWN else len(items)

    return count


def sum_(sf: Fn, bf: Fn, slot: int) -> Fn:
    """Return ``sum``: the total of the body over the items."""

    def total(c: Ctx) -> Any:
        items = sf(c)
        if items is UNKNOWN:
            return UNKNOWN
        acc: Any = 0
        undecided = False
        for item in items:
            c.vars[slot] = item
            value = bf(c)
            if value is UNKNOWN:
                undecided = True
            else:
                acc += value
        return UNKNOWN if undecided else acc

    return total


def first(sf: Fn, bf: Fn, slot: int) -> Fn:
    """Return ``first``: the first matching item, unknown if an earlier one is undecided."""

    def first(c: Ctx) -> Any:
        items = sf(c)
        if items is UNKNOWN:
            return UNKNOWN
        mark = len(c.unk)
        for item in items:
            c.vars[slot] = item
            value = bf(c)
            if value is UNKNOWN:
                return UNKNOWN
            if value:
                del c.unk[mark:]
                return item
        return UNKNOWN  # nobody matches: nothing to ask, the value stays empty

    return first
