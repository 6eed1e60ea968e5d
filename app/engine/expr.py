"""The expression language's syntax: tokens and a recursive-descent parser into a small AST.

Grammar (lowest precedence first)::

    expr     := or ['if' or 'else' expr]
    or       := and {'or' and}
    and      := not {'and' not}
    not      := 'not' not | compare
    compare  := sum [('=='|'!='|'<'|'<='|'>'|'>='|'in'|'not' 'in') sum]
    sum      := product {('+'|'-') product}
    product  := unary {('*'|'/') unary}
    unary    := '-' unary | postfix
    postfix  := primary {'.' NAME}
    primary  := NUMBER | STRING | 'true' | 'false' | '[' [expr {',' expr}] ']' | '(' expr ')'
              | NAME '(' NAME 'in' expr ':' expr ')'       (a quantifier: any, all, count, …)
              | NAME '(' [expr {',' expr}] ')'             (a whitelisted function)
              | NAME
    binder   := NAME 'in' expr ':' expr                    (for_each / per_person)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.errors import DomainError


class ExprSyntaxError(DomainError):
    """The text is not a well-formed expression; ``offset`` is 0-based into the text."""

    default_code = "expression_syntax"
    status = 422

    def __init__(self, message: str, offset: int, hint: str = "") -> None:
        self.offset = offset
        super().__init__(message, hint=hint)


# ---- AST ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """An AST node; ``at`` is its 0-based offset in the expression text."""

    at: int


@dataclass(frozen=True)
class Literal(Node):
    """A number, string or boolean written in the expression."""

    value: object


@dataclass(frozen=True)
class ListLit(Node):
    """A list written in brackets."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Name(Node):
    """A bare identifier."""

    name: str


@dataclass(frozen=True)
class Attr(Node):
    """``obj.name``: a dotted name or a fact of a person."""

    obj: Node
    name: str


@dataclass(frozen=True)
class Unary(Node):
    """``not x`` or ``-x``."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    """A binary operator, including ``and``/``or``, comparisons and ``in``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class IfElse(Node):
    """``then if cond else otherwise``."""

    cond: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True)
class Call(Node):
    """A whitelisted function call."""

    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Quantifier(Node):
    """``any(p in household: cond)`` and its kin: any, all, count, filter, sum, first."""

    func: str
    var: str
    source: Node
    body: Node


@dataclass(frozen=True)
class Binder(Node):
    """``p in household: cond`` as used by for_each and per_person."""

    var: str
    source: Node
    cond: Node


QUANTIFIERS = frozenset({"any", "all", "count", "filter", "sum", "first"})
KEYWORDS = frozenset({"and", "or", "not", "in", "if", "else", "true", "false"})

# ---- tokens -------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|[<>+\-*/()\[\],.:])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    """A lexical token: its kind (number, string, name, op, end), text and offset."""

    kind: str
    text: str
    at: int


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens.

    :raises ExprSyntaxError: a character that belongs to no token, or an unclosed string.
    """
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            char = text[pos]
            if char in "'\"":
                raise ExprSyntaxError("文字列が閉じていません", pos, f"{char} で閉じます")
            hint = "比べるときは == と書きます" if char == "=" else "この文字を削除します"
            if char in "＝（）＜＞，．":
                hint = "半角の文字で書きます"
            raise ExprSyntaxError(f"使えない文字 {char!r} があります", pos, hint)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# ---- parser -------------------------------------------------------------------------------

_MAX_DEPTH = 60
_COMPARE = frozenset({"==", "!=", "<", "<=", ">", ">="})


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def nest(self) -> None:
        # Deep nesting would exhaust Python's stack; no real rule nests this far.
        """Count one more level of nesting; refuse expressions nested too deeply."""
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ExprSyntaxError("式の入れ子が深すぎます", self.tok.at, "派生事実に分けます")

    @property
    def tok(self) -> Token:
        """Return the current token."""
        return self.tokens[self.i]

    def peek(self, n: int = 1) -> Token:
        """Return the token n ahead."""
        return self.tokens[min(self.i + n, len(self.tokens) - 1)]

    def is_(self, text: str) -> bool:
        """Tell whether the current token is this operator or keyword."""
        tok = self.tok
        return tok.kind in ("op", "name") and tok.text == text

    def take(self) -> Token:
        """Consume and return the current token."""
        tok = self.tok
        self.i += 1
        return tok

    def expect(self, text: str, hint: str = "") -> Token:
        """Consume this operator or keyword, or raise a syntax error."""
        if not self.is_(text):
            found = self.tok.text or "式の終わり"
            raise ExprSyntaxError(
                f"'{text}' があるはずの所に '{found}' があります", self.tok.at, hint
            )
        return self.take()

    def end(self) -> None:
        """Require the end of the text."""
        if self.tok.kind != "end":
            hint = "条件をつなぐときは and / or と書きます" if self.tok.kind == "name" else ""
            raise ExprSyntaxError(f"ここに '{self.tok.text}' は書けません", self.tok.at, hint)

    def expr(self) -> Node:
        """Parse a full expression (a conditional at the top)."""
        self.nest()
        start = self.tok.at
        then = self.or_()
        if self.is_("if"):
            self.take()
            cond = self.or_()
            self.expect("else", "a conditional is: x if condition else y")
            then = IfElse(start, cond, then, self.expr())
        self.depth -= 1
        return then

    def or_(self) -> Node:
        """Parse ``a or b``."""
        left = self.and_()
        while self.is_("or"):
            at = self.take().at
            left = Binary(at, "or", left, self.and_())
        return left

    def and_(self) -> Node:
        """Parse ``a and b``."""
        left = self.not_()
        while self.is_("and"):
            at = self.take().at
            left = Binary(at, "and", left, self.not_())
        return left

    def not_(self) -> Node:
        """Parse ``not a``."""
        if self.is_("not"):
            at = self.take().at
            self.nest()
            operand = self.not_()
            self.depth -= 1
            return Unary(at, "not", operand)
        return self.compare()

    def compare(self) -> Node:
        """Parse one comparison or membership test."""
        left = self.sum()
        tok = self.tok
        if tok.kind == "op" and tok.text in _COMPARE:
            self.take()
            return Binary(tok.at, tok.text, left, self.sum())
        if self.is_("in"):
            self.take()
            return Binary(tok.at, "in", left, self.sum())
        if self.is_("not") and self.peek().kind == "name" and self.peek().text == "in":
            self.take()
            self.take()
            return Binary(tok.at, "not in", left, self.sum())
        return left

    def sum(self) -> Node:
        """Parse ``a + b`` and ``a - b``."""
        left = self.product()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            tok = self.take()
            left = Binary(tok.at, tok.text, left, self.product())
        return left

    def product(self) -> Node:
        """Parse ``a * b`` and ``a / b``."""
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            tok = self.take()
            left = Binary(tok.at, tok.text, left, self.unary())
        return left

    def unary(self) -> Node:
        """Parse ``-a``."""
        if self.tok.kind == "op" and self.tok.text == "-":
            at = self.take().at
            self.nest()
            operand = self.unary()
            self.depth -= 1
            return Unary(at, "-", operand)
        return self.postfix()

    def postfix(self) -> Node:
        """Parse ``a.b.c``."""
        node = self.primary()
        while self.is_("."):
            self.take()
            tok = self.tok
            if tok.kind != "name":
                raise ExprSyntaxError("'.' の後に名前がありません", tok.at, "例: p.name")
            self.take()
            node = Attr(tok.at, node, tok.text)
        return node

    def primary(self) -> Node:
        """Parse a literal, list, parenthesis, call or name."""
        tok = self.tok
        if tok.kind == "number":
            self.take()
            value: object = float(tok.text) if "." in tok.text else int(tok.text)
            return Literal(tok.at, value)
        if tok.kind == "string":
            self.take()
            body = tok.text[1:-1]
            return Literal(tok.at, re.sub(r"\\(.)", r"\1", body))
        if tok.kind == "op" and tok.text == "(":
            self.take()
            inner = self.expr()
            self.expect(")", "かっこを ) で閉じます")
            return inner
        if tok.kind == "op" and tok.text == "[":
            self.take()
            items: list[Node] = []
            if not self.is_("]"):
                items.append(self.expr())
                while self.is_(","):
                    self.take()
                    items.append(self.expr())
            self.expect("]", "リストを ] で閉じます")
            return ListLit(tok.at, tuple(items))
        if tok.kind == "name":
            if tok.text in ("true", "false"):
                self.take()
                return Literal(tok.at, tok.text == "true")
            if tok.text in KEYWORDS:
                raise ExprSyntaxError(f"ここに '{tok.text}' は書けません", tok.at)
            self.take()
            if self.is_("("):
                return self.call(tok)
            return Name(tok.at, tok.text)
        if tok.kind == "end":
            raise ExprSyntaxError(
                "式が途中で終わっています",
                tok.at,
                "最後の語や演算子の後に続きを書きます",
            )
        raise ExprSyntaxError(
            f"ここに '{tok.text}' は書けません", tok.at, "値・名前・( のどれかを書きます"
        )

    def call(self, name: Token) -> Node:
        """Parse a function call or a quantifier."""
        self.expect("(")
        if (
            name.text in QUANTIFIERS
            and self.tok.kind == "name"
            and self.peek().kind == "name"
            and self.peek().text == "in"
        ):
            binder = self.binder()
            self.expect(")", "かっこを ) で閉じます")
            return Quantifier(name.at, name.text, binder.var, binder.source, binder.cond)
        args: list[Node] = []
        if not self.is_(")"):
            args.append(self.expr())
            while self.is_(","):
                self.take()
                args.append(self.expr())
        self.expect(")", "かっこを ) で閉じます")
        return Call(name.at, name.text, tuple(args))

    def binder(self) -> Binder:
        """Parse ``p in <list>: <condition>``."""
        var = self.tok
        if var.kind != "name" or var.text in KEYWORDS:
            raise ExprSyntaxError(
                "変数名がありません", var.at, "p in household: <条件> のように書きます"
            )
        self.take()
        self.expect("in", "p in household: <条件> のように書きます")
        source = self.or_()
        self.expect(":", "p in household: <条件> のように書きます")
        return Binder(var.at, var.text, source, self.expr())


def parse(text: str) -> Node:
    """Parse an expression.

    :raises ExprSyntaxError: the only exception it raises, with the offset of the problem.
    """
    parser = _Parser(text)
    node = parser.expr()
    parser.end()
    return node


def parse_binder(text: str) -> Binder:
    """Parse ``p in household: <condition>`` (the form of for_each and per_person).

    :raises ExprSyntaxError: the only exception it raises.
    """
    parser = _Parser(text)
    binder = parser.binder()
    parser.end()
    return binder
