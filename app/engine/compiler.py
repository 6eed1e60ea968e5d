"""Type-check expressions against the fact vocabulary and compile them once into closures.

A compiled expression is a plain function of the evaluation context. Unknown facts evaluate
to ``UNKNOWN`` and are recorded in ``ctx.unk``; and/or/any/all follow three-valued logic.
Invariant that keeps next questions precise: a node that yields a *known* value leaves no
unknowns of its own recorded (nodes that can turn unknown into known truncate ``ctx.unk``).
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from app.engine import ages, kana, wareki
from app.engine.expr import (
    Attr,
    Binary,
    Binder,
    Call,
    ExprSyntaxError,
    IfElse,
    ListLit,
    Literal,
    Name,
    Node,
    Quantifier,
    Unary,
    parse,
    parse_binder,
)
from app.engine.postal import postal_address
from app.engine.runtime import MAX_VARS, UNKNOWN, Ctx, FactKey, Fn, Person
from app.engine.types import ANY, BOOL, DATE, LIST_PERSON, LIST_TEXT, NUM, PERSON, TEXT, Ty
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
            raise CompileError("too many nested quantifiers", 0)
        return Scope({**self.vars, name: (slot, ty)}, self.self_slot)


# ---- function library -----------------------------------------------------------------


def _safe(func: Callable[..., Any], code: str) -> Callable[..., Any]:
    """Wrap a helper so that a value it cannot handle becomes UNKNOWN (with a warning)."""

    def run(ctx: Ctx, *args: Any) -> Any:
        try:
            return func(*args)
        except (ValueError, OverflowError) as exc:
            ctx.warnings.append((code, str(exc)))
            return UNKNOWN

    return run


def _wareki(day: date) -> str:
    """Format a date in 和暦, or ISO when it lies before 明治."""
    try:
        return wareki.format_wareki(day)
    except wareki.OutsideEraError:
        return day.isoformat()


def _postal(code: str) -> Any:
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
    "wareki": ((DATE,), TEXT, _wareki),
    "seireki": ((DATE,), TEXT, lambda d: f"{d.year}年{d.month}月{d.day}日"),
    "katakana": ((TEXT,), TEXT, kana.katakana),
    "hiragana": ((TEXT,), TEXT, kana.hiragana),
    "zenkaku": ((TEXT,), TEXT, kana.zenkaku),
    "hankaku": ((TEXT,), TEXT, kana.hankaku),
    "postal_address": ((TEXT,), TEXT, _postal),
    "size": ((Ty("list", ANY),), NUM, len),
    "has_role": ((PERSON, TEXT), BOOL, lambda p, role: role in p.roles),
}
SPECIAL_FUNCTIONS = ("known", "default", "concat", "min", "max", "date")
FUNCTION_NAMES = tuple(
    sorted([*STRICT_FUNCTIONS, *SPECIAL_FUNCTIONS, "any", "all", "count", "filter", "sum", "first"])
)
_RAISES = {"add_days", "add_months", "add_years", "age_reached_on", "age", "march31_after"}

_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _suggest(word: str, candidates: Iterable[str]) -> str:
    """Return a did-you-mean hint for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


class Compiler:
    """Check and compile expressions against one rule set's symbols."""

    def __init__(self, symbols: Symbols) -> None:
        self.symbols = symbols
        self._refs: set[str] = set()

    # -- entry points ----------------------------------------------------------------------

    def compile(
        self, text: str, expected: Ty | None = None, scope: Scope | None = None
    ) -> Compiled:
        """Parse, type-check and compile one expression.

        :raises CompileError: a syntax, name or type error, with its offset.
        """
        if not isinstance(text, str):
            text = _literal_text(text)
        try:
            node = parse(text)
        except ExprSyntaxError as exc:
            raise CompileError(exc.message, exc.offset, exc.hint) from None
        self._refs = set()
        fn, ty = self._node(node, scope or Scope())
        if expected is not None and not expected.accepts(ty):
            raise CompileError(f"expected {expected} but this is {ty}", 0, _type_hint(expected))
        return Compiled(fn, ty, frozenset(self._refs), text)

    def compile_binder(
        self, text: str, scope: Scope | None = None
    ) -> tuple[str, Compiled, Compiled]:
        """Compile ``p in <list of persons>: <condition>``; return the variable, source and condition.

        :raises CompileError: as ``compile``.
        """
        try:
            binder: Binder = parse_binder(str(text))
        except ExprSyntaxError as exc:
            raise CompileError(exc.message, exc.offset, exc.hint) from None
        outer = scope or Scope()
        self._refs = set()
        src_fn, src_ty = self._node(binder.source, outer)
        if src_ty != LIST_PERSON:
            raise CompileError(
                f"expected a list of persons but this is {src_ty}",
                _start(binder.source),
                "write: p in household: …",
            )
        source = Compiled(src_fn, src_ty, frozenset(self._refs), text)
        inner = outer.bind(binder.var, PERSON)
        self._refs = set()
        cond_fn, cond_ty = self._node(binder.cond, inner)
        if cond_ty.kind not in ("boolean", "any"):
            raise CompileError(
                f"expected boolean but this is {cond_ty}", _start(binder.cond), _type_hint(BOOL)
            )
        return binder.var, source, Compiled(cond_fn, BOOL, frozenset(self._refs), text)

    # -- nodes -----------------------------------------------------------------------------

    def _node(self, node: Node, scope: Scope) -> tuple[Fn, Ty]:
        """Compile any AST node; return its closure and static type."""
        if isinstance(node, Literal):
            return self._literal(node)
        if isinstance(node, ListLit):
            return self._list(node, scope)
        if isinstance(node, Name | Attr):
            return self._path(node, scope)
        if isinstance(node, Unary):
            return self._unary(node, scope)
        if isinstance(node, Binary):
            return self._binary(node, scope)
        if isinstance(node, IfElse):
            return self._ifelse(node, scope)
        if isinstance(node, Quantifier):
            return self._quantifier(node, scope)
        if isinstance(node, Call):
            return self._call(node, scope)
        raise CompileError("unsupported expression", node.at)  # pragma: no cover

    def _literal(self, node: Literal) -> tuple[Fn, Ty]:
        """Compile a literal number, text or boolean."""
        value = node.value
        ty = BOOL if isinstance(value, bool) else NUM if isinstance(value, int | float) else TEXT
        return (lambda c: value), ty

    def _list(self, node: ListLit, scope: Scope) -> tuple[Fn, Ty]:
        """Compile a bracketed list; all items must share a type."""
        parts = [self._node(item, scope) for item in node.items]
        item_ty = parts[0][1] if parts else ANY
        for (_, ty), item in zip(parts, node.items, strict=True):
            if not item_ty.accepts(ty):
                raise CompileError(
                    f"a list mixes {item_ty} and {ty}",
                    _start(item),
                    "make every item the same type",
                )
        if all(isinstance(item, Literal) for item in node.items):
            values = [item.value for item in node.items if isinstance(item, Literal)]
            return (lambda c: values), Ty("list", item_ty)
        fns = [fn for fn, _ in parts]

        def build(c: Ctx) -> Any:
            out = [fn(c) for fn in fns]
            return UNKNOWN if any(v is UNKNOWN for v in out) else out

        return build, Ty("list", item_ty)

    # -- names -----------------------------------------------------------------------------

    def _flatten(self, node: Node) -> list[tuple[str, int]] | None:
        """Return a dotted name as (part, offset) pairs, or None if it is not one."""
        if isinstance(node, Name):
            return [(node.name, node.at)]
        if isinstance(node, Attr):
            inner = self._flatten(node.obj)
            return None if inner is None else [*inner, (node.name, node.at)]
        return None

    def _path(self, node: Name | Attr, scope: Scope) -> tuple[Fn, Ty]:
        """Resolve a dotted name: variable, role, case fact, parameter, option or own fact."""
        parts = self._flatten(node)
        if parts is None:
            assert isinstance(node, Attr)
            obj_fn, obj_ty = self._node(node.obj, scope)
            return self._attribute(obj_fn, obj_ty, node.name, node.at)
        root, root_at = parts[0]
        rest = parts[1:]
        sym = self.symbols
        fn: Fn
        ty: Ty
        if root in scope.vars:
            slot, ty = scope.vars[root]
            fn = _var(slot)
        elif root == "as_of" and not rest:
            return _as_of, DATE
        elif root == "household" and not rest:
            return (lambda c: c.persons), LIST_PERSON
        elif root == "param" and rest:
            pid, at = rest[0]
            if pid not in sym.params:
                raise CompileError(
                    f"unknown parameter 'param.{pid}'",
                    root_at,
                    _suggest(f"param.{pid}", (f"param.{p}" for p in sym.params))
                    or "declare it in parameters.yaml",
                )
            fn, ty, rest = _param(pid), sym.params[pid], rest[1:]
        elif root == "muni" and rest:
            oid, at = rest[0]
            if oid not in sym.muni:
                raise CompileError(
                    f"unknown municipality option 'muni.{oid}'",
                    root_at,
                    _suggest(f"muni.{oid}", (f"muni.{o}" for o in sym.muni))
                    or "add it under options: in municipality.yaml",
                )
            fn, ty, rest = _muni(oid), sym.muni[oid], rest[1:]
        elif root in sym.single_roles:
            fn, ty = _role(root), PERSON
            self._refs.add(f"@{root}")
        elif rest and f"{root}.{rest[0][0]}" in sym.case_facts:
            info = sym.case_facts[f"{root}.{rest[0][0]}"]
            fn, ty, rest = self._case_fact(info), info.ty, rest[1:]
        elif scope.self_slot is not None and (root in sym.person_facts or root == "roles"):
            fn, ty = _var(scope.self_slot), PERSON
            rest = parts
        else:
            raise self._unknown_name(parts, scope)
        for name, at in rest:
            fn, ty = self._attribute(fn, ty, name, at)
        return fn, ty

    def _unknown_name(self, parts: list[tuple[str, int]], scope: Scope) -> CompileError:
        """Build the error for a name that resolves to nothing, with a suggestion."""
        sym = self.symbols
        text = ".".join(p for p, _ in parts)
        root, at = parts[0]
        if root in sym.roles and root not in sym.single_roles:
            return CompileError(
                f"role '{root}' may be held by several members",
                at,
                f"use any(p in household: '{root}' in p.roles and …)",
            )
        if root in ("param", "muni"):
            return CompileError(f"'{root}' needs a name after it", at, f"write {root}.<id>")
        if root in sym.person_facts and len(parts) == 1:
            return CompileError(
                f"'{root}' is a per-person fact", at, f"say whose: p.{root} or <role>.{root}"
            )
        candidates = [*sym.case_facts, *scope.vars, "as_of", "household", "case.events"]
        candidates += [f"{r}.{f}" for r in sym.single_roles for f in sym.person_facts]
        candidates += [f"param.{p}" for p in sym.params] + [f"muni.{o}" for o in sym.muni]
        candidates += [f"{v}.{f}" for v in scope.vars for f in sym.person_facts]
        what = "fact" if len(parts) > 1 else "name"
        return CompileError(
            f"unknown {what} '{text}'",
            at,
            _suggest(text, candidates) or "declare it in facts/ or check the spelling",
        )

    def _case_fact(self, info: FactInfo) -> Fn:
        """Compile a read of a case fact (given or derived), recording reads and unknowns."""
        self._refs.add(info.id)
        fid = info.id
        key: FactKey = (None, fid)
        if fid == "case.events":

            def events(c: Ctx) -> Any:
                value = c.case.get(fid, UNKNOWN)
                if value is UNKNOWN:
                    c.unk.append(key)
                return value

            return events
        if info.derived:
            derive_fns = self.symbols.derive_fns

            def derived(c: Ctx) -> Any:
                hit = c.cache.get(key)
                if hit is None:
                    hit = _compute(c, key, derive_fns[fid], None)
                value, unknowns, reads = hit
                if unknowns:
                    c.unk.extend(unknowns)
                c.reads.extend(reads)
                c.reads.append(key)
                return value

            return derived

        def given(c: Ctx) -> Any:
            c.reads.append(key)
            value = c.case.get(fid, UNKNOWN)
            if value is UNKNOWN:
                c.unk.append(key)
            return value

        return given

    def _attribute(self, obj: Fn, ty: Ty, name: str, at: int) -> tuple[Fn, Ty]:
        """Compile ``obj.name`` on a person (fact, roles, index) or a bank account."""
        sym = self.symbols
        if ty.kind == "person":
            if name == "roles":

                def roles(c: Ctx) -> Any:
                    person = obj(c)
                    if person is UNKNOWN:
                        return UNKNOWN
                    c.reads.append((person.index, "roles"))
                    return person.roles

                return roles, LIST_TEXT
            if name == "index":

                def index(c: Ctx) -> Any:
                    person = obj(c)
                    return UNKNOWN if person is UNKNOWN else person.index

                return index, NUM
            info = sym.person_facts.get(name)
            if info is None:
                hint = _suggest(name, [*sym.person_facts, "roles", "index"])
                if any(f.endswith(f".{name}") for f in sym.case_facts):
                    hint = hint or f"'{name}' is not a per-person fact"
                raise CompileError(
                    f"unknown person fact '{name}'",
                    at,
                    hint or "declare it with per: person in facts/",
                )
            self._refs.add(name)
            return self._person_fact(obj, info), info.ty
        if ty.kind == "record" and ty.fields:
            if name not in ty.fields:
                raise CompileError(
                    f"a bank account has no '{name}'",
                    at,
                    _suggest(name, ty.fields) or f"use one of {', '.join(ty.fields)}",
                )

            def field_of(c: Ctx) -> Any:
                record = obj(c)
                return UNKNOWN if record is UNKNOWN else record.get(name, UNKNOWN)

            return field_of, TEXT
        raise CompileError(
            f"a {ty} has no '.{name}'", at, "only persons and bank accounts have parts"
        )

    def _person_fact(self, obj: Fn, info: FactInfo) -> Fn:
        """Compile a read of a member's fact (given or derived)."""
        fid = info.id
        if info.derived:
            derive_fns = self.symbols.derive_fns

            def derived(c: Ctx) -> Any:
                person = obj(c)
                if person is UNKNOWN:
                    return UNKNOWN
                key = (person.index, fid)
                hit = c.cache.get(key)
                if hit is None:
                    hit = _compute(c, key, derive_fns[fid], person)
                value, unknowns, reads = hit
                if unknowns:
                    c.unk.extend(unknowns)
                c.reads.extend(reads)
                c.reads.append(key)
                return value

            return derived

        def given(c: Ctx) -> Any:
            person = obj(c)
            if person is UNKNOWN:
                return UNKNOWN
            key = (person.index, fid)
            c.reads.append(key)
            value = person.facts.get(fid, UNKNOWN)
            if value is UNKNOWN:
                c.unk.append(key)
            return value

        return given

    # -- operators -------------------------------------------------------------------------

    def _unary(self, node: Unary, scope: Scope) -> tuple[Fn, Ty]:
        """Compile ``not x`` or ``-x``."""
        fn, ty = self._node(node.operand, scope)
        if node.op == "not":
            _require(ty, BOOL, _start(node.operand), "not")
            return (lambda c: _not(fn(c))), BOOL
        _require(ty, NUM, _start(node.operand), "-")

        def neg(c: Ctx) -> Any:
            v = fn(c)
            return UNKNOWN if v is UNKNOWN else -v

        return neg, NUM

    def _binary(self, node: Binary, scope: Scope) -> tuple[Fn, Ty]:
        """Compile and/or, comparisons, ``in`` and arithmetic, checking operand types."""
        lf, lt = self._node(node.left, scope)
        rf, rt = self._node(node.right, scope)
        op = node.op
        if op in ("and", "or"):
            _require(lt, BOOL, _start(node.left), op)
            _require(rt, BOOL, _start(node.right), op)
            return (_and(lf, rf) if op == "and" else _or(lf, rf)), BOOL
        if op in ("==", "!="):
            if not (lt.accepts(rt) or (lt.kind == "number" and rt.kind == "number")):
                raise CompileError(
                    f"cannot compare {lt} with {rt}", node.at, "both sides must have the same type"
                )
            self._check_choice(lt, node.right)
            self._check_choice(rt, node.left)
            return _strict2(lf, rf, operator.eq if op == "==" else operator.ne), BOOL
        if op in _ORDER:
            if lt.kind not in ("number", "date", "text", "any") or not lt.accepts(rt):
                raise CompileError(
                    f"cannot order {lt} and {rt}",
                    node.at,
                    "compare two numbers, two dates or two texts",
                )
            return _strict2(lf, rf, _ORDER[op]), BOOL
        if op in ("in", "not in"):
            if rt.kind not in ("list", "any") or (rt.item is not None and not rt.item.accepts(lt)):
                raise CompileError(
                    f"'in' needs a list of {lt} on its right, not {rt}",
                    _start(node.right),
                    "e.g. 'death' in case.events",
                )
            if rt.item is not None:
                self._check_choice(rt.item, node.left)
            if lt.choices and isinstance(node.right, ListLit):
                for item in node.right.items:
                    self._check_choice(lt, item)
            if op == "in":
                return _strict2(lf, rf, lambda a, b: a in b), BOOL
            return _strict2(lf, rf, lambda a, b: a not in b), BOOL
        _require(lt, NUM, _start(node.left), op)
        _require(rt, NUM, _start(node.right), op)
        if op == "/":
            return _divide(lf, rf), NUM
        return _strict2(lf, rf, _ARITH[op]), NUM

    def _check_choice(self, ty: Ty, other: Node) -> None:
        """Refuse a literal compared with a choice fact when it is not one of its keys."""
        if (
            ty.choices
            and isinstance(other, Literal)
            and isinstance(other.value, str)
            and other.value not in ty.choices
        ):
            hint = _suggest(other.value, ty.choices) or f"one of {', '.join(ty.choices)}"
            raise CompileError(f"'{other.value}' is not one of the choices", other.at, hint)

    def _ifelse(self, node: IfElse, scope: Scope) -> tuple[Fn, Ty]:
        """Compile ``x if cond else y``."""
        cf, ct = self._node(node.cond, scope)
        _require(ct, BOOL, _start(node.cond), "if")
        tf, tt = self._node(node.then, scope)
        ef, et = self._node(node.otherwise, scope)
        if not tt.accepts(et):
            raise CompileError(
                f"the branches differ: {tt} and {et}",
                _start(node.otherwise),
                "both branches must have the same type",
            )

        def pick(c: Ctx) -> Any:
            cond = cf(c)
            if cond is UNKNOWN:
                return UNKNOWN
            return tf(c) if cond else ef(c)

        return pick, tt if tt.kind != "any" else et

    def _quantifier(self, node: Quantifier, scope: Scope) -> tuple[Fn, Ty]:
        """Compile any/all/count/filter/sum/first over a list with a bound variable."""
        sf, st = self._node(node.source, scope)
        if st.kind != "list":
            raise CompileError(
                f"{node.func}() needs a list to go through, not {st}",
                _start(node.source),
                "e.g. any(p in household: …)",
            )
        inner = scope.bind(node.var, st.item or ANY)
        slot = inner.vars[node.var][0]
        bf, bt = self._node(node.body, inner)
        if node.func == "sum":
            _require(bt, NUM, _start(node.body), "sum")
            return _sum(sf, bf, slot), NUM
        _require(bt, BOOL, _start(node.body), node.func)
        if node.func == "any":
            return _any(sf, bf, slot), BOOL
        if node.func == "all":
            return _all(sf, bf, slot), BOOL
        if node.func == "count":
            return _count(sf, bf, slot), NUM
        if node.func == "filter":
            return _filter(sf, bf, slot), st
        return _first(sf, bf, slot), st.item or ANY

    def _call(self, node: Call, scope: Scope) -> tuple[Fn, Ty]:
        """Compile a call to a whitelisted function, checking arity and argument types."""
        name = node.func
        if name in ("any", "all", "count", "filter", "sum", "first"):
            raise CompileError(f"{name}() takes a variable: {name}(p in household: …)", node.at)
        if name == "date":
            arg = node.args[0] if len(node.args) == 1 else None
            if not isinstance(arg, Literal) or not isinstance(arg.value, str):
                raise CompileError(
                    "date() takes one quoted date", node.at, "e.g. date('2024-10-01')"
                )
            try:
                value = date.fromisoformat(arg.value)
            except ValueError:
                raise CompileError(
                    f"'{arg.value}' is not a date", _start(arg), "write YYYY-MM-DD"
                ) from None
            return (lambda c: value), DATE
        args = [self._node(arg, scope) for arg in node.args]
        if name in STRICT_FUNCTIONS:
            params, result, impl = STRICT_FUNCTIONS[name]
            if len(args) != len(params):
                raise CompileError(
                    f"{name}() takes {len(params)} argument(s), got {len(args)}", node.at
                )
            for (_, ty), want, arg in zip(args, params, node.args, strict=True):
                if not want.accepts(ty):
                    raise CompileError(
                        f"{name}() expects {want} here, not {ty}", _start(arg), _type_hint(want)
                    )
            if name == "has_role" and isinstance(node.args[1], Literal):
                role = str(node.args[1].value)
                if role not in self.symbols.roles:
                    raise CompileError(
                        f"unknown role '{role}'",
                        node.args[1].at,
                        _suggest(role, self.symbols.roles) or "declare it in roles.yaml",
                    )
            if name in _RAISES:
                return _call_safe(_safe(impl, "date_out_of_range"), [f for f, _ in args]), result
            return _call(impl, [f for f, _ in args]), result
        if name == "known":
            if len(args) != 1:
                raise CompileError("known() takes 1 argument", node.at)
            return _known(args[0][0]), BOOL
        if name == "default":
            if len(args) != 2:
                raise CompileError("default() takes 2 arguments", node.at, "default(x, fallback)")
            if not args[0][1].accepts(args[1][1]):
                raise CompileError(
                    f"default() fallback is {args[1][1]} but the value is {args[0][1]}",
                    node.args[1].at,
                )
            return _default(args[0][0], args[1][0]), args[0][1]
        if name == "concat":
            for (_, ty), arg in zip(args, node.args, strict=True):
                if ty.kind not in ("text", "number", "any"):
                    raise CompileError(
                        f"concat() joins texts and numbers, not {ty}",
                        _start(arg),
                        "format dates with wareki()",
                    )
            return _concat([f for f, _ in args]), TEXT
        if name in ("min", "max"):
            if len(args) < 2:
                raise CompileError(f"{name}() takes 2 or more arguments", node.at)
            first = args[0][1]
            for (_, ty), arg in zip(args, node.args, strict=True):
                if ty.kind not in ("number", "date") or not first.accepts(ty):
                    raise CompileError(
                        f"{name}() takes numbers or dates of one kind, not {ty}", _start(arg)
                    )
            return _call(min if name == "min" else max, [f for f, _ in args]), first
        raise CompileError(
            f"unknown function '{name}'",
            node.at,
            _suggest(name, FUNCTION_NAMES) or f"available: {', '.join(FUNCTION_NAMES)}",
        )


# ---- closures --------------------------------------------------------------------------


def _start(node: Node) -> int:
    """Return where an expression begins in the text (the left end of ``a.b`` or ``a + b``)."""
    while True:
        if isinstance(node, Attr):
            node = node.obj
        elif isinstance(node, Binary):
            node = node.left
        else:
            return node.at


def _literal_text(value: Any) -> str:
    """Return YAML scalars (booleans, dates, numbers) as expression text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return f"date('{value.isoformat()}')"
    return str(value)


def _type_hint(ty: Ty) -> str:
    """Return a fix-it hint for a value that should have had this type."""
    if ty == BOOL:
        return "a condition must be true/false, e.g. p.age >= 65"
    return f"give a {ty}"


def _require(ty: Ty, want: Ty, at: int, what: str) -> None:
    """Raise a CompileError unless the type is acceptable where ``want`` is needed."""
    if not want.accepts(ty):
        raise CompileError(f"'{what}' needs {want}, not {ty}", at, _type_hint(want))


_AS_OF_KEY: FactKey = (None, "as_of")


def _as_of(c: Ctx) -> Any:
    """Return the application date, noting it as a source."""
    c.reads.append(_AS_OF_KEY)
    return c.as_of


def _var(slot: int) -> Fn:
    """Return a closure reading a bound variable's slot."""
    return lambda c: c.vars[slot]


def _param(pid: str) -> Fn:
    """Return a closure reading a parameter's value in force."""
    key: FactKey = (None, f"param.{pid}")

    def value(c: Ctx) -> Any:
        c.reads.append(key)
        return c.params.get(pid, UNKNOWN)

    return value


def _muni(oid: str) -> Fn:
    """Return a closure reading a municipality option."""
    return lambda c: c.muni[oid]


def _role(role: str) -> Fn:
    """Return a closure resolving a single role to its member, or unknown."""
    key: FactKey = (None, f"@{role}")

    def holder(c: Ctx) -> Any:
        person = c.role_holders.get(role)
        if person is None:
            c.unk.append(key)
            return UNKNOWN
        return person

    return holder


def _compute(
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


def _not(v: Any) -> Any:
    """Negate a three-valued boolean."""
    return UNKNOWN if v is UNKNOWN else not v


def _connective(lf: Fn, rf: Fn, decisive: bool) -> Fn:
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


def _and(lf: Fn, rf: Fn) -> Fn:
    """Return three-valued ``and``: false wins, and unknowns that did not matter are dropped."""
    return _connective(lf, rf, decisive=False)


def _or(lf: Fn, rf: Fn) -> Fn:
    """Return three-valued ``or``: true wins, and unknowns that did not matter are dropped."""
    return _connective(lf, rf, decisive=True)


def _strict2(lf: Fn, rf: Fn, op: Callable[[Any, Any], Any]) -> Fn:
    """Return a binary operation that is unknown when either side is."""

    def apply(c: Ctx) -> Any:
        a = lf(c)
        b = rf(c)
        if a is UNKNOWN or b is UNKNOWN:
            return UNKNOWN
        return op(a, b)

    return apply


def _divide(lf: Fn, rf: Fn) -> Fn:
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


def _call(impl: Callable[..., Any], fns: list[Fn]) -> Fn:
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


def _call_safe(impl: Callable[..., Any], fns: list[Fn]) -> Fn:
    """Return a call whose helper may reject a value; that becomes a warning and unknown."""

    def run(c: Ctx) -> Any:
        values = [f(c) for f in fns]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        return impl(c, *values)

    return run


def _known(fn: Fn) -> Fn:
    """Return ``known(x)``: whether x is known, never unknown itself."""

    def known(c: Ctx) -> Any:
        mark = len(c.unk)
        value = fn(c)
        del c.unk[mark:]
        return value is not UNKNOWN

    return known


def _default(fn: Fn, fallback: Fn) -> Fn:
    """Return ``default(x, y)``: x, or y when x is unknown."""

    def default(c: Ctx) -> Any:
        mark = len(c.unk)
        value = fn(c)
        if value is UNKNOWN:
            del c.unk[mark:]
            return fallback(c)
        return value

    return default


def _concat(fns: list[Fn]) -> Fn:
    """Return text concatenation of known parts."""

    def concat(c: Ctx) -> Any:
        values = [f(c) for f in fns]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        return "".join(str(v) for v in values)

    return concat


def _quantify(sf: Fn, bf: Fn, slot: int, decisive: bool) -> Fn:
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


def _any(sf: Fn, bf: Fn, slot: int) -> Fn:
    """Return ``any``: true once one item is true, unknown if some are unknown, else false."""
    return _quantify(sf, bf, slot, decisive=True)


def _all(sf: Fn, bf: Fn, slot: int) -> Fn:
    """Return ``all``: false once one item is false, unknown if some are unknown, else true."""
    return _quantify(sf, bf, slot, decisive=False)


def _filter(sf: Fn, bf: Fn, slot: int) -> Fn:
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


def _count(sf: Fn, bf: Fn, slot: int) -> Fn:
    """Return ``count``: how many items match."""
    inner = _filter(sf, bf, slot)

    def count(c: Ctx) -> Any:
        items = inner(c)
        return UNKNOWN if items is UNKNOWN else len(items)

    return count


def _sum(sf: Fn, bf: Fn, slot: int) -> Fn:
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


def _first(sf: Fn, bf: Fn, slot: int) -> Fn:
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
