"""Type-check expressions against the fact vocabulary and compile them once into closures.

A compiled expression is a plain function of the evaluation context. Unknown facts evaluate
to ``UNKNOWN`` and are recorded in ``ctx.unk``; and/or/any/all follow three-valued logic.
Invariant that keeps next questions precise: a node that yields a *known* value leaves no
unknowns of its own recorded (nodes that can turn unknown into known truncate ``ctx.unk``).
"""

from __future__ import annotations

import operator
from datetime import date
from typing import Any

from app.engine import builtins, codegen
from app.engine.errors import did_you_mean
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
from app.engine.runtime import UNKNOWN, Ctx, FactKey, Fn
from app.engine.symbols import (
    Compiled,
    CompileError,
    FactInfo,
    Scope,
    Symbols,
    literal_text,
    require,
    start,
    type_hint,
)
from app.engine.types import ANY, BOOL, DATE, LIST_PERSON, LIST_TEXT, NUM, PERSON, TEXT, Ty

__all__ = ["Compiled", "CompileError", "Compiler", "FactInfo", "Scope", "Symbols"]


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
            text = literal_text(text)
        try:
            node = parse(text)
        except ExprSyntaxError as exc:
            raise CompileError(exc.message, exc.offset, exc.hint) from None
        self._refs = set()
        fn, ty = self._node(node, scope or Scope())
        if expected is not None and not expected.accepts(ty):
            raise CompileError(
                f"{expected}になる式が必要です（これは{ty}）", 0, type_hint(expected)
            )
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
                f"世帯員のリストが必要です（これは{src_ty}）",
                start(binder.source),
                "p in household: … のように書きます",
            )
        source = Compiled(src_fn, src_ty, frozenset(self._refs), text)
        inner = outer.bind(binder.var, PERSON)
        self._refs = set()
        cond_fn, cond_ty = self._node(binder.cond, inner)
        if cond_ty.kind not in ("boolean", "any"):
            raise CompileError(
                f"条件は真偽値になる式です（これは{cond_ty}）", start(binder.cond), type_hint(BOOL)
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
        raise CompileError("この式は使えません", node.at)  # pragma: no cover

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
                    f"リストに{item_ty}と{ty}が混ざっています",
                    start(item),
                    "すべての要素を同じ型にします",
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
            fn = codegen.var(slot)
        elif root == "as_of" and not rest:
            return codegen.as_of, DATE
        elif root == "household" and not rest:
            return (lambda c: c.persons), LIST_PERSON
        elif root == "param" and rest:
            pid, at = rest[0]
            if pid not in sym.params:
                raise CompileError(
                    f"不明なパラメータ 'param.{pid}'",
                    root_at,
                    did_you_mean(f"param.{pid}", (f"param.{p}" for p in sym.params))
                    or "parameters.yaml に定義します",
                )
            fn, ty, rest = codegen.param(pid), sym.params[pid], rest[1:]
        elif root == "muni" and rest:
            oid, at = rest[0]
            if oid not in sym.muni:
                raise CompileError(
                    f"不明な市のオプション 'muni.{oid}'",
                    root_at,
                    did_you_mean(f"muni.{oid}", (f"muni.{o}" for o in sym.muni))
                    or "municipality.yaml の options: に追加します",
                )
            fn, ty, rest = codegen.muni(oid), sym.muni[oid], rest[1:]
        elif root in sym.single_roles:
            fn, ty = codegen.role(root), PERSON
            self._refs.add(f"@{root}")
        elif rest and f"{root}.{rest[0][0]}" in sym.case_facts:
            info = sym.case_facts[f"{root}.{rest[0][0]}"]
            fn, ty, rest = self._case_fact(info), info.ty, rest[1:]
        elif scope.self_slot is not None and (root in sym.person_facts or root == "roles"):
            fn, ty = codegen.var(scope.self_slot), PERSON
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
                f"役割 '{root}' は複数の世帯員が持てます",
                at,
                f"any(p in household: '{root}' in p.roles and …) のように書きます",
            )
        if root in ("param", "muni"):
            return CompileError(f"'{root}' の後に名前が必要です", at, f"{root}.<id> と書きます")
        if root in sym.person_facts and len(parts) == 1:
            return CompileError(
                f"'{root}' は世帯員ごとの事実です",
                at,
                f"誰の事実かを書きます: p.{root} または <役割>.{root}",
            )
        candidates = [*sym.case_facts, *scope.vars, "as_of", "household", "case.events"]
        candidates += [f"{r}.{f}" for r in sym.single_roles for f in sym.person_facts]
        candidates += [f"param.{p}" for p in sym.params] + [f"muni.{o}" for o in sym.muni]
        candidates += [f"{v}.{f}" for v in scope.vars for f in sym.person_facts]
        what = "事実" if len(parts) > 1 else "名前"
        return CompileError(
            f"不明な{what} '{text}'",
            at,
            did_you_mean(text, candidates) or "facts/ に定義するか、綴りを確かめます",
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
                    hit = codegen.compute(c, key, derive_fns[fid], None)
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
                hint = did_you_mean(name, [*sym.person_facts, "roles", "index"])
                if any(f.endswith(f".{name}") for f in sym.case_facts):
                    hint = hint or f"'{name}' は世帯員ごとの事実ではありません"
                raise CompileError(
                    f"不明な世帯員の事実 '{name}'",
                    at,
                    hint or "facts/ に per: person で定義します",
                )
            self._refs.add(name)
            return self._person_fact(obj, info), info.ty
        if ty.kind == "record" and ty.fields:
            if name not in ty.fields:
                raise CompileError(
                    f"口座に '{name}' はありません",
                    at,
                    did_you_mean(name, ty.fields)
                    or f"次のどれかを使います: {', '.join(ty.fields)}",
                )

            def field_of(c: Ctx) -> Any:
                record = obj(c)
                return UNKNOWN if record is UNKNOWN else record.get(name, UNKNOWN)

            return field_of, TEXT
        raise CompileError(
            f"{ty}に '.{name}' はありません", at, "'.' で部分を取り出せるのは世帯員と口座だけです"
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
                    hit = codegen.compute(c, key, derive_fns[fid], person)
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
            require(ty, BOOL, start(node.operand), "not")
            return (lambda c: codegen.not_(fn(c))), BOOL
        require(ty, NUM, start(node.operand), "-")

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
            require(lt, BOOL, start(node.left), op)
            require(rt, BOOL, start(node.right), op)
            return (codegen.and_(lf, rf) if op == "and" else codegen.or_(lf, rf)), BOOL
        if op in ("==", "!="):
            if not (lt.accepts(rt) or (lt.kind == "number" and rt.kind == "number")):
                raise CompileError(f"{lt}と{rt}は比べられません", node.at, "両辺を同じ型にします")
            self._check_choice(lt, node.right)
            self._check_choice(rt, node.left)
            return codegen.strict2(lf, rf, operator.eq if op == "==" else operator.ne), BOOL
        if op in builtins.ORDERING:
            if lt.kind not in ("number", "date", "text", "any") or not lt.accepts(rt):
                raise CompileError(
                    f"{lt}と{rt}は大小を比べられません",
                    node.at,
                    "数値どうし・日付どうし・文字どうしを比べます",
                )
            return codegen.strict2(lf, rf, builtins.ORDERING[op]), BOOL
        if op in ("in", "not in"):
            if rt.kind not in ("list", "any") or (rt.item is not None and not rt.item.accepts(lt)):
                raise CompileError(
                    f"'in' の右には{lt}のリストが必要です（これは{rt}）",
                    start(node.right),
                    "例: 'death' in case.events",
                )
            if rt.item is not None:
                self._check_choice(rt.item, node.left)
            if lt.choices and isinstance(node.right, ListLit):
                for item in node.right.items:
                    self._check_choice(lt, item)
            if op == "in":
                return codegen.strict2(lf, rf, lambda a, b: a in b), BOOL
            return codegen.strict2(lf, rf, lambda a, b: a not in b), BOOL
        require(lt, NUM, start(node.left), op)
        require(rt, NUM, start(node.right), op)
        if op == "/":
            return codegen.divide(lf, rf), NUM
        return codegen.strict2(lf, rf, builtins.ARITHMETIC[op]), NUM

    def _check_choice(self, ty: Ty, other: Node) -> None:
        """Refuse a literal compared with a choice fact when it is not one of its keys."""
        if (
            ty.choices
            and isinstance(other, Literal)
            and isinstance(other.value, str)
            and other.value not in ty.choices
        ):
            hint = (
                did_you_mean(other.value, ty.choices) or f"次のどれかです: {', '.join(ty.choices)}"
            )
            raise CompileError(f"'{other.value}' は選択肢にありません", other.at, hint)

    def _ifelse(self, node: IfElse, scope: Scope) -> tuple[Fn, Ty]:
        """Compile ``x if cond else y``."""
        cf, ct = self._node(node.cond, scope)
        require(ct, BOOL, start(node.cond), "if")
        tf, tt = self._node(node.then, scope)
        ef, et = self._node(node.otherwise, scope)
        if not tt.accepts(et):
            raise CompileError(
                f"if と else の値の型が違います（{tt}と{et}）",
                start(node.otherwise),
                "両方を同じ型にします",
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
                f"{node.func}() にはリストが必要です（これは{st}）",
                start(node.source),
                "例: any(p in household: …)",
            )
        inner = scope.bind(node.var, st.item or ANY)
        slot = inner.vars[node.var][0]
        bf, bt = self._node(node.body, inner)
        if node.func == "sum":
            require(bt, NUM, start(node.body), "sum")
            return codegen.sum_(sf, bf, slot), NUM
        require(bt, BOOL, start(node.body), node.func)
        if node.func == "any":
            return codegen.any_(sf, bf, slot), BOOL
        if node.func == "all":
            return codegen.all_(sf, bf, slot), BOOL
        if node.func == "count":
            return codegen.count(sf, bf, slot), NUM
        if node.func == "filter":
            return codegen.filter_(sf, bf, slot), st
        return codegen.first(sf, bf, slot), st.item or ANY

    def _call(self, node: Call, scope: Scope) -> tuple[Fn, Ty]:
        """Compile a call to a whitelisted function, checking arity and argument types."""
        name = node.func
        if name in ("any", "all", "count", "filter", "sum", "first"):
            raise CompileError(
                f"{name}() には変数が必要です", node.at, f"{name}(p in household: …) と書きます"
            )
        if name == "date":
            arg = node.args[0] if len(node.args) == 1 else None
            if not isinstance(arg, Literal) or not isinstance(arg.value, str):
                raise CompileError(
                    "date() には引用符で囲んだ日付を1つ書きます", node.at, "例: date('2024-10-01')"
                )
            try:
                value = date.fromisoformat(arg.value)
            except ValueError:
                raise CompileError(
                    f"'{arg.value}' は日付ではありません", start(arg), "YYYY-MM-DD で書きます"
                ) from None
            return (lambda c: value), DATE
        args = [self._node(arg, scope) for arg in node.args]
        if name in builtins.STRICT_FUNCTIONS:
            params, result, impl = builtins.STRICT_FUNCTIONS[name]
            if len(args) != len(params):
                raise CompileError(
                    f"{name}() の引数は{len(params)}個です（{len(args)}個あります）", node.at
                )
            for (_, ty), want, arg in zip(args, params, node.args, strict=True):
                if not want.accepts(ty):
                    raise CompileError(
                        f"{name}() のこの引数は{want}です（これは{ty}）",
                        start(arg),
                        type_hint(want),
                    )
            if name == "has_role" and isinstance(node.args[1], Literal):
                role = str(node.args[1].value)
                if role not in self.symbols.roles:
                    raise CompileError(
                        f"不明な役割 '{role}'",
                        node.args[1].at,
                        did_you_mean(role, self.symbols.roles) or "roles.yaml に定義します",
                    )
            if name in builtins.RAISING_FUNCTIONS:
                return codegen.call_safe(
                    builtins.safe(impl, "date_out_of_range"), [f for f, _ in args]
                ), result
            return codegen.call(impl, [f for f, _ in args]), result
        if name == "known":
            if len(args) != 1:
                raise CompileError("known() の引数は1個です", node.at)
            return codegen.known(args[0][0]), BOOL
        if name == "default":
            if len(args) != 2:
                raise CompileError(
                    "default() の引数は2個です", node.at, "default(値, 分からないときの値)"
                )
            if not args[0][1].accepts(args[1][1]):
                raise CompileError(
                    f"default() の2つ目（{args[1][1]}）が1つ目（{args[0][1]}）と型が違います",
                    node.args[1].at,
                )
            return codegen.default(args[0][0], args[1][0]), args[0][1]
        if name == "concat":
            for (_, ty), arg in zip(args, node.args, strict=True):
                if ty.kind not in ("text", "number", "any"):
                    raise CompileError(
                        f"concat() がつなげるのは文字と数値です（これは{ty}）",
                        start(arg),
                        "日付は wareki() で文字にします",
                    )
            return codegen.concat([f for f, _ in args]), TEXT
        if name in ("min", "max"):
            if len(args) < 2:
                raise CompileError(f"{name}() の引数は2個以上です", node.at)
            first = args[0][1]
            for (_, ty), arg in zip(args, node.args, strict=True):
                if ty.kind not in ("number", "date") or not first.accepts(ty):
                    raise CompileError(
                        f"{name}() には同じ種類の数値か日付を書きます（これは{ty}）", start(arg)
                    )
            return codegen.call(min if name == "min" else max, [f for f, _ in args]), first
        raise CompileError(
            f"不明な関数 '{name}'",
            node.at,
            did_you_mean(name, builtins.FUNCTION_NAMES)
            or f"使える関数: {', '.join(builtins.FUNCTION_NAMES)}",
        )
