"""What the compiler checks expressions against: declared facts, names in scope, type errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.engine.expr import Attr, Binary, Node
from app.engine.runtime import MAX_VARS, Fn
from app.engine.types import BOOL, Ty
from app.errors import DomainError


class CompileError(DomainError):
    """An expression does not check: message, 0-based offset in its text, and a hint."""

    default_code = "expression_invalid"
    status = 422

    def __init__(self, message: str, at: int, hint: str = "") -> None:
        self.at = at
        super().__init__(message, hint=hint)


@dataclass(frozen=True)
class FactInfo:
    """What the compiler needs to know of a declared fact."""

    id: str
    per_person: bool
    ty: Ty
    derived: bool
    label: str


@dataclass
class Symbols:
    """The names expressions may use: facts, roles, parameters, municipality options."""

    case_facts: dict[str, FactInfo]
    person_facts: dict[str, FactInfo]
    single_roles: set[str]
    roles: set[str]
    params: dict[str, Ty]
    muni: dict[str, Ty]
    # Compiled derive expressions, filled in after every fact is known (they may refer to
    # each other); closures look them up at run time.
    derive_fns: dict[str, Fn] = field(default_factory=dict)


@dataclass(frozen=True)
class Compiled:
    """A compiled expression: its function, static type and the fact ids it refers to."""

    fn: Fn
    ty: Ty
    facts: frozenset[str]
    text: str


@dataclass
class Scope:
    """Variables bound at a point of an expression: name -> (slot, type); and implicit self."""

    vars: dict[str, tuple[int, Ty]] = field(default_factory=dict)
    self_slot: int | None = None  # inside a per-person derive, bare names are this person's facts

    def bind(self, name: str, ty: Ty) -> Scope:
        """Return a scope with one more variable in the next free slot."""
        slot = len(self.vars) + (1 if self.self_slot is not None else 0)
        if slot >= MAX_VARS:
            raise CompileError("any(…) などの入れ子が深すぎます", 0, "派生事実に分けます")
        return Scope({**self.vars, name: (slot, ty)}, self.self_slot)


def start(node: Node) -> int:
    """Return where an expression begins in the text (the left end of ``a.b`` or ``a + b``)."""
    while True:
        if isinstance(node, Attr):
            node = node.obj
        elif isinstance(node, Binary):
            node = node.left
        else:
            return node.at


def literal_text(value: Any) -> str:
    """Return YAML scalars (booleans, dates, numbers) as expression text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return f"date('{value.isoformat()}')"
    return str(value)


def type_hint(ty: Ty) -> str:
    """Return a fix-it hint for a value that should have had this type."""
    if ty == BOOL:
        return "条件は true/false になる式で書きます（例: p.age >= 65）"
    return f"{ty}になる式を書きます"


def require(ty: Ty, want: Ty, at: int, what: str) -> None:
    """Raise a CompileError unless the type is acceptable where ``want`` is needed."""
    if not want.accepts(ty):
        raise CompileError(f"'{what}' には{want}が必要です（これは{ty}）", at, type_hint(want))
