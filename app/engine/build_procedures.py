"""Build procedures, their departments and deadlines."""

from __future__ import annotations

from app.engine.compiler import Compiled, CompileError, Compiler, FactInfo, Scope
from app.engine.errors import did_you_mean
from app.engine.expr import Binary, Call, ExprSyntaxError, Literal, Node, parse, parse_binder
from app.engine.factids import ID as _ID
from app.engine.loader_base import LoaderBase
from app.engine.model import (
    Binding,
    Deadline,
    Event,
    Municipality,
    Procedure,
)
from app.engine.periods import START_RULES
from app.engine.reasons import FactRef, ReasonText, dotted, paths, placeholders
from app.engine.schema import DEADLINE_KEYS, PROCEDURE_KEYS
from app.engine.source import Pos, YList, YMap
from app.engine.types import BOOL, DATE, PERSON

# The words every procedure must carry (issues 16 and 17): what a clerk reads out, and
# what the resident reads.
_WORDS = (
    (
        "reason",
        "職員が読み上げる、この手続が当たる理由",
        "reason: …のため、…が必要です。 と書きます（{deceased.name} などで事実を差し込めます）",
    ),
    ("plain", "住民向けのやさしい日本語の説明", "plain: に、することと持ってくる物を短い文で書きます"),
)


class ProceduresBuilder(LoaderBase):
    """Build procedures, their departments and deadlines."""

    def procedures(
        self, compiler: Compiler, muni: Municipality, events: dict[str, Event]
    ) -> tuple[list[Procedure], dict[str, list[tuple[Pos, str]]]]:
        """Check and compile procedures; return them and which forms they name."""
        procedures: list[Procedure] = []
        form_refs: dict[str, list[tuple[Pos, str]]] = {}
        seen: dict[str, Pos] = {}
        for _, raw, pos in self.docs["procedures"]:
            for item, item_pos in self.items(raw, pos, "手続", "procedures"):
                pid = str(item.get("id", ""))
                ident = f"手続 '{pid}'"
                self.keys(item, ident, PROCEDURE_KEYS, ("id", "title", "department"))
                if not pid or self.dup(seen, pid, item_pos, ident):
                    continue
                if not _ID.match(pid):
                    self.problem(
                        item.where("id"),
                        ident,
                        "idは英小文字・数字・_ で書きます",
                        "e.g. kokuho_soshitsu",
                    )
                department = self.department(item, ident, muni)
                basis = self.legal(item, "legal_basis", ident)
                event_ids: frozenset[str] | None = None
                if "events" in item:
                    listed = self.string_list(item, "events", ident)
                    for eid, epos in listed:
                        if eid not in events:
                            self.problem(
                                epos,
                                ident,
                                f"不明なライフイベント '{eid}'",
                                did_you_mean(eid, events) or "events.yaml に定義します",
                            )
                    event_ids = frozenset(e for e, _ in listed)
                applies = (
                    self.compile(compiler, item, "applies_when", ident, BOOL)
                    if "applies_when" in item
                    else None
                )
                for_each = (
                    self.binding(compiler, item, "for_each", ident) if "for_each" in item else None
                )
                deadline_cases = self.deadlines(compiler, item, ident, for_each)
                deadline = deadline_cases[-1] if deadline_cases else None
                self.lint_applies_when(item, ident, event_ids)
                reason = self.reason(compiler, item, ident, for_each)
                self.require_words(item, ident)
                forms = self.string_list(item, "forms", ident)
                for fid, fpos in forms:
                    form_refs.setdefault(fid, []).append((fpos, ident))
                automatic = item.get("automatic", False)
                if not isinstance(automatic, bool):
                    self.problem(
                        item.where("automatic"), ident, "automatic は true か false です", ""
                    )
                    automatic = False
                if automatic and forms:
                    self.problem(
                        item.where("automatic"),
                        ident,
                        "automatic: true の手続は様式を作りません",
                        "forms: か automatic: true のどちらかを削除します",
                    )
                guidance = self.text(item, "guidance", ident)
                if guidance is not None and not guidance.strip():
                    self.problem(
                        item.where("guidance"),
                        ident,
                        "guidance: が空です",
                        "住民が行く届出先（例：年金事務所）を書きます",
                    )
                    guidance = None
                if guidance is not None and (automatic or forms):
                    # 案内だけの手続は、ここで出すものも職権で済むものもない: どちらかと一緒は矛盾
                    self.problem(
                        item.where("guidance"),
                        ident,
                        "guidance: の手続（ご案内のみ）は様式を作らず、自動でもありません",
                        "guidance: か、forms: / automatic: true のどちらかを削除します",
                    )
                if not automatic and not forms and item.get("guidance") is None:
                    self.problem(
                        item.pos,
                        ident,
                        "この手続は様式を作りません",
                        "forms: [様式id] を書くか、automatic: true と note: を、"
                        "または guidance: 届出先 を書きます",
                    )
                if automatic and not item.get("note"):
                    self.problem(
                        item.pos,
                        ident,
                        "automatic: true の手続には住民向けの note が必要です",
                        "note: …（自動的に…されます）を書きます",
                    )
                valid_from = self.a_date(item, "valid_from", ident)
                valid_until = self.a_date(item, "valid_until", ident)
                if valid_from and valid_until and valid_until < valid_from:
                    self.problem(
                        item.where("valid_until"),
                        ident,
                        "valid_until が valid_from より前です",
                        "2つの日付を入れ替えます",
                    )
                if department is None or basis is None:
                    continue
                procedures.append(
                    Procedure(
                        pid,
                        str(item.get("title", "")),
                        event_ids,
                        department,
                        basis,
                        valid_from,
                        valid_until,
                        applies,
                        reason,
                        for_each,
                        deadline,
                        tuple(f for f, _ in forms),
                        automatic,
                        self.text(item, "note", ident),
                        tuple(b for b, _ in self.string_list(item, "bring", ident)),
                        item_pos,
                        self.text(item, "plain", ident),
                        self.reason_refs(compiler, applies, for_each),
                        deadline_cases,
                        self.text(item, "urgent", ident),
                        guidance,
                    )
                )
        return procedures, form_refs

    def deadlines(
        self, compiler: Compiler, item: YMap, ident: str, for_each: Binding | None
    ) -> tuple[Deadline, ...]:
        """Check and compile a procedure's deadline, or its list of deadlines chosen by ``when``."""
        raw = item.get("deadline")
        if raw is None:
            return ()
        if not isinstance(raw, YList):
            data = self.mapping(raw, item.where("deadline"), ident, "deadline")
            if data is None:
                return ()
            if "when" in data:
                self.problem(
                    data.key_pos["when"],
                    ident,
                    "when: は期限のリストの中でだけ使えます",
                    "deadline: の下を「- when: …」で始まるリストにします",
                )
            one = self.deadline(compiler, data, ident, for_each)
            return (one,) if one is not None else ()
        cases: list[Deadline] = []
        entries = self.items(raw, item.where("deadline"), ident, "deadline")
        for index, (data, _pos) in enumerate(entries):
            if "when" not in data and index < len(entries) - 1:
                self.problem(
                    data.pos,
                    ident,
                    "期限のリストで when: がないのは最後の1つだけです",
                    "when: <条件> を書くか、この期限をリストの最後に移します",
                )
            case = self.deadline(compiler, data, ident, for_each)
            if case is not None:
                cases.append(case)
        return tuple(cases)

    def deadline(
        self, compiler: Compiler, data: YMap, ident: str, for_each: Binding | None
    ) -> Deadline | None:
        """Check and compile one deadline: when, from, a period, its start and roll rules."""
        ok = True
        if "inclusive" in data:
            self.problem(
                data.key_pos["inclusive"],
                ident,
                "inclusive: は旧形式です",
                "start: day_after（翌日から数える、民法第140条）または "
                "start: same_day（その日を含めて数える、戸籍法第43条など）を書きます",
            )
            ok = False
        self.keys(data, ident, DEADLINE_KEYS | {"inclusive", "when"}, ("from", "label"))
        if _is_period_arithmetic(str(data.get("from", ""))):
            self.problem(
                data.where("from"),
                ident,
                "期限の起算日に add_years(…) などの計算は書きません（旧形式）",
                "from: には起算日だけを書き、期間は years:/months:/days: に書きます"
                "（例: from: funeral.date, years: 2, start: day_after）",
            )
            ok = False
        counts: dict[str, int] = {}
        for key in PERIOD_KEYS:
            if key not in data:
                continue
            count = data[key]
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                self.problem(
                    data.where(key), ident, f"{key}: は0以上の整数で書きます", f"例: {key}: 14"
                )
                ok = False
                continue
            counts[key] = count
        if ok and not any(counts.values()):
            self.problem(
                data.pos,
                ident,
                "期間がありません",
                "years:、months:、days: のどれか（1以上）を書きます（例: days: 14）",
            )
            ok = False
        start = data.get("start")
        if start is None:
            self.problem(
                data.pos,
                ident,
                "start: がありません（初日を数えるかどうか）",
                "start: day_after（翌日から数える、民法第140条）または "
                "start: same_day（その日を含めて数える）を書きます",
            )
            ok = False
        elif start not in START_RULES:
            self.problem(
                data.where("start"),
                ident,
                f"不明な起算の決まり '{start}'",
                did_you_mean(str(start), START_RULES)
                or "day_after（翌日から数える）または same_day（その日を含めて数える）",
            )
            ok = False
        rolls = data.get("rolls_over")
        if rolls is None:
            self.problem(
                data.pos,
                ident,
                "rolls_over: がありません（末日が閉庁日のとき延びるかどうか）",
                "届出期間なら rolls_over: true（地方自治法第4条の2第4項）、"
                "時効なら rolls_over: false を書きます",
            )
            ok = False
        elif not isinstance(rolls, bool):
            self.problem(data.where("rolls_over"), ident, "rolls_over: は true か false です", "")
            ok = False
        if "why" not in data:
            self.warn(
                data.pos,
                ident,
                "why: がありません（期限の数え方の根拠）",
                "条文の文言と、延びる・延びない理由を書きます",
            )
        scope = Scope().bind(for_each.var, PERSON) if for_each else None
        origin = (
            self.compile(compiler, data, "from", ident, DATE, scope) if "from" in data else None
        )
        when = self.compile(compiler, data, "when", ident, BOOL, scope) if "when" in data else None
        if origin is None or not ok or ("when" in data and when is None):
            return None
        return Deadline(
            origin,
            counts.get("years", 0),
            counts.get("months", 0),
            counts.get("days", 0),
            str(start),
            bool(rolls),
            self.text(data, "why", ident) or "",
            str(data.get("label", "")),
            when,
        )

    def require_words(self, item: YMap, ident: str) -> None:
        """Refuse a procedure without its read-out reason or its やさしい日本語 text."""
        for key, what, hint in _WORDS:
            value = item.get(key)
            if not isinstance(value, str) or not value.strip():
                pos = item.where(key) if key in item else item.pos
                self.problem(pos, ident, f"{key}: がありません（{what}）", hint)

    def reason(
        self, compiler: Compiler, item: YMap, ident: str, for_each: Binding | None
    ) -> ReasonText | None:
        """Check a reason text and compile each of its ``{fact.path}`` placeholders."""
        text = self.text(item, "reason", ident)
        if text is None:
            return None
        scope = Scope().bind(for_each.var, PERSON) if for_each else None
        slots = []
        for path, offset in placeholders(text):
            try:
                compiled = compiler.compile(path.strip(), None, scope)
            except CompileError as exc:
                self.problem(
                    item.where("reason").at(offset + exc.at),
                    ident,
                    f"理由の差し込み {{{path}}}: {exc.message}",
                    exc.hint,
                )
                continue
            choices = tuple(zip(compiled.ty.choices or (), compiled.ty.labels or (), strict=False))
            slots.append((path, compiled, choices))
        if for_each is not None and not any(
            f"{for_each.var}." in path for path, _ in placeholders(text)
        ):
            self.warn(
                item.where("reason"),
                ident,
                "1人ずつの手続の理由が、どの人のことかを言っていません",
                f"{{{for_each.var}.name}}さんが… のように、その人の事実を差し込みます",
            )
        return ReasonText(text, tuple(slots))

    def reason_refs(
        self, compiler: Compiler, applies: Compiled | None, for_each: Binding | None
    ) -> tuple[FactRef, ...]:
        """Return the facts the condition reads (case, single role, the member), once each."""
        sym = compiler.symbols
        found: list[list[str]] = []
        var = None
        if applies is not None:
            found += paths(parse(applies.text))
        if for_each is not None:
            binder = parse_binder(for_each.cond.text)
            var = binder.var
            found += paths(binder.cond, frozenset())
        refs: dict[tuple[str, str, str | None], FactRef] = {}
        for parts in found:
            if len(parts) < 2:
                continue
            head, name = parts[0], parts[1]
            case_id = f"{head}.{name}"
            if case_id in sym.case_facts and case_id != "case.events":
                info = sym.case_facts[case_id]
                refs.setdefault(("case", case_id, None), _ref("case", case_id, None, info))
            elif name in sym.person_facts and (head == var or head in sym.single_roles):
                kind, role = ("member", None) if head == var else ("role", head)
                info = sym.person_facts[name]
                refs.setdefault((kind, name, role), _ref(kind, name, role, info))
        return tuple(refs.values())

    def lint_applies_when(self, item: YMap, ident: str, events: frozenset[str] | None) -> None:
        """Warn about an applies_when that only says what ``events`` already says."""
        if "applies_when" not in item:
            return
        try:
            node = parse(str(item.text_of("applies_when")))
        except ExprSyntaxError:
            return
        listed = _only_events(node)
        if listed is None:
            first = node.left if isinstance(node, Binary) and node.op == "and" else None
            while isinstance(first, Binary) and first.op == "and":
                first = first.left
            repeated = _only_events(first) if first is not None else None
            if repeated is not None and events is not None and events <= repeated:
                self.warn(
                    item.where("applies_when"),
                    ident,
                    "applies_when の「… in case.events and」は events: を繰り返しています",
                    "その部分を削除し、残りの条件だけを書きます",
                )
            return
        if events is not None and listed <= events:
            self.warn(
                item.where("applies_when"),
                ident,
                "applies_when は events: を繰り返しているだけです",
                "applies_when を削除します（events: だけで決まります）",
            )
        elif events is None:
            self.warn(
                item.where("applies_when"),
                ident,
                "applies_when はライフイベントを調べているだけです",
                f"events: [{', '.join(sorted(listed))}] に書き換えます",
            )


def _is_period_arithmetic(text: str) -> bool:
    """Tell whether a deadline's ``from`` is itself date arithmetic (the old, refused form)."""
    try:
        node = parse(text)
    except ExprSyntaxError:
        return False
    return isinstance(node, Call) and node.func in ("add_years", "add_months", "add_days")


PERIOD_KEYS = ("years", "months", "days")


def _ref(kind: str, fact: str, role: str | None, info: FactInfo) -> FactRef:
    """Build a fact reference with its label and choice labels."""
    choices = tuple(zip(info.ty.choices or (), info.ty.labels or (), strict=False))
    if info.ty.item is not None and info.ty.item.choices:
        choices = tuple(zip(info.ty.item.choices, info.ty.item.labels or (), strict=False))
    return FactRef(kind, fact, role, info.label, choices)


def _only_events(node: Node) -> frozenset[str] | None:
    """Return the events of an expression made only of ``'e' in case.events`` joined by or."""
    if isinstance(node, Binary) and node.op == "or":
        left, right = _only_events(node.left), _only_events(node.right)
        return None if left is None or right is None else left | right
    if (
        isinstance(node, Binary)
        and node.op == "in"
        and isinstance(node.left, Literal)
        and isinstance(node.left.value, str)
        and dotted(node.right) == ["case", "events"]
    ):
        return frozenset({node.left.value})
    return None
