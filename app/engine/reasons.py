"""Why a procedure applies, in words: the reason text with its facts filled in, and the facts
its condition reads as 「ラベル: 値」 pairs a clerk can read out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.engine import wareki
from app.engine.compiler import Compiled
from app.engine.expr import Attr, Binary, Call, IfElse, ListLit, Name, Node, Quantifier, Unary
from app.engine.runtime import UNKNOWN

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
UNKNOWN_TEXT = "（未確認）"


@dataclass(frozen=True)
class FactRef:
    """A fact a condition reads: a case fact, a single role's fact, or the member's own fact."""

    kind: str  # "case" | "role" | "member"
    fact: str  # the fact id ('death.date') or the person fact's name ('birth_date')
    role: str | None
    label: str
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ReasonText:
    """A reason with ``{fact.path}`` placeholders, each compiled against the facts at load."""

    text: str
    slots: tuple[tuple[str, Compiled, tuple[tuple[str, str], ...]], ...]


def placeholders(text: str) -> list[tuple[str, int]]:
    """Return every ``{path}`` of a reason text with the offset of the path in the text."""
    return [(m.group(1), m.start(1)) for m in PLACEHOLDER.finditer(text)]


def format_fact(value: Any, choices: tuple[tuple[str, str], ...] = ()) -> str:
    """Format a fact value for a reason: 和暦 dates, choice labels, はい/いいえ."""
    if value is UNKNOWN or value is None:
        return UNKNOWN_TEXT
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, date):
        return wareki.format_wareki_or_iso(value)
    labels = dict(choices)
    if isinstance(value, list | tuple):
        return "、".join(labels.get(str(v), str(v)) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return labels.get(str(value), str(value))


def dotted(node: Node) -> list[str] | None:
    """Return a dotted name as its parts, or None when the node is not one."""
    if isinstance(node, Name):
        return [node.name]
    if isinstance(node, Attr):
        inner = dotted(node.obj)
        return None if inner is None else [*inner, node.name]
    return None


def paths(node: Node, bound: frozenset[str] = frozenset()) -> list[list[str]]:
    """Return the dotted names an expression reads, in order, except quantified variables'."""
    parts = dotted(node)
    if parts is not None:
        return [] if parts[0] in bound else [parts]
    found: list[list[str]] = []
    children: list[Node] = []
    if isinstance(node, Attr):
        children = [node.obj]
    elif isinstance(node, Unary):
        children = [node.operand]
    elif isinstance(node, Binary):
        children = [node.left, node.right]
    elif isinstance(node, IfElse):
        children = [node.cond, node.then, node.otherwise]
    elif isinstance(node, ListLit):
        children = list(node.items)
    elif isinstance(node, Call):
        children = list(node.args)
    elif isinstance(node, Quantifier):
        found += paths(node.source, bound)
        return found + paths(node.body, bound | {node.var})
    for child in children:
        found += paths(child, bound)
    return found
