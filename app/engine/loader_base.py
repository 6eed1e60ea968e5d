"""Read YAML documents and report problems at their positions: the loader's shared helpers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from app.engine.compiler import Compiled, CompileError, Compiler, Scope
from app.engine.errors import Problem, did_you_mean
from app.engine.facts import FactDef
from app.engine.model import (
    Binding,
    Department,
    Law,
    LegalBasis,
    Municipality,
)
from app.engine.schema import LEGAL_KEYS
from app.engine.source import Pos, YList, YMap, read_yaml
from app.engine.types import BOOL, DATE, FACT_TYPES, NUM, TEXT, Ty

KINDS = (
    "municipality",
    "laws",
    "roles",
    "facts",
    "parameters",
    "events",
    "procedures",
    "scenarios",
    "form",
)
FORMATS = {
    "text": None,
    "wareki": "date",
    "wareki_parts": "date",
    "iso_date": "date",
    "katakana": "text",
    "hiragana": "text",
    "zenkaku": None,
    "yen": "number",
    "digits": "text",
    "postal": "text",
    "checkbox": "boolean",
    "choice_label": "choice",
    "masked": "text",
}
_PARAM_TYPES = {
    "money": NUM,
    "integer": NUM,
    "number": NUM,
    "text": TEXT,
    "boolean": BOOL,
    "date": DATE,
}


def municipality_code_valid(code: str) -> bool:
    """Tell whether a 6-digit 全国地方公共団体コード has the right check digit (weights 6..2)."""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(code[:5], (6, 5, 4, 3, 2), strict=True))
    return (11 - total % 11) % 10 == int(code[5])


def yaml_files(paths: Iterable[str | Path]) -> list[Path]:
    """List the YAML files under the given files and folders, in a stable order."""
    return [path for path, _ in rule_files(paths)]


def rule_files(paths: Iterable[str | Path]) -> list[tuple[Path, str]]:
    """List the YAML files with the name a message shows: relative to the rule set.

    A file under a given folder ``…/procedure_rules`` is shown as
    ``procedure_rules/procedures/kokuho.yaml`` — never the server's absolute path.
    """
    found: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(
                p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
            ):
                found.append((file, (Path(path.name) / file.relative_to(path)).as_posix()))
        elif path.exists():
            found.append((path, (Path(path.parent.name) / path.name).as_posix()))
    return found


class LoaderBase:
    """Collect problems and read checked values out of positioned YAML mappings."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []  # lint warnings: the rules load, but should be improved
        self.law_table: dict[str, Law] = {}
        self.docs: dict[str, list[tuple[str, Any, Pos]]] = {kind: [] for kind in KINDS}

    # -- reporting helpers -----------------------------------------------------------------

    def problem(self, pos: Pos, ident: str, message: str, hint: str = "") -> None:
        """Record one problem at a position."""
        self.problems.append(Problem(pos.file, pos.line, pos.column, ident, message, hint))

    def warn(self, pos: Pos, ident: str, message: str, hint: str = "") -> None:
        """Record one lint warning at a position (the rule set still loads)."""
        self.warnings.append(Problem(pos.file, pos.line, pos.column, ident, message, hint))

    def keys(self, data: YMap, ident: str, allowed: set[str], required: Iterable[str] = ()) -> None:
        """Report unknown keys (with suggestions) and missing required keys."""
        for key in data:
            if key not in allowed:
                hint = did_you_mean(key, allowed) or f"使えるキー: {', '.join(sorted(allowed))}"
                self.problem(data.key_pos[key], ident, f"不明なキー '{key}'", hint)
        for key in required:
            if key not in data or data[key] in (None, ""):
                self.problem(data.pos, ident, f"'{key}' がありません", f"{key}: を書きます")

    def mapping(self, value: Any, pos: Pos, ident: str, what: str) -> YMap | None:
        """Return the value if it is a mapping, else report it."""
        if isinstance(value, YMap):
            return value
        self.problem(
            pos,
            ident,
            f"{what} は「キー: 値」の組で書きます",
            "キーを字下げしてその下に書きます",
        )
        return None

    def items(self, value: Any, pos: Pos, ident: str, what: str) -> list[tuple[YMap, Pos]]:
        """Return the mappings of a list with their positions, reporting anything else."""
        if value is None:
            return []
        if not isinstance(value, YList):
            self.problem(pos, ident, f"{what} はリストで書きます", "各項目を '- ' で始めます")
            return []
        out = []
        for item, item_pos in zip(value, value.item_pos, strict=True):
            mapped = self.mapping(item, item_pos, ident, f"{what} の各項目")
            if mapped is not None:
                out.append((mapped, item_pos))
        return out

    def text(self, data: YMap, key: str, ident: str, default: str | None = None) -> str | None:
        """Return a text value, reporting non-text."""
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, bool | dict | list):
            self.problem(
                data.where(key), ident, f"'{key}' は文字で書きます", "そのまま文章で書きます"
            )
            return default
        # An unquoted 0123, 11:00 or 2026-01-01 is read as the text written, never converted.
        return str(data.text_of(key))

    def string_list(self, data: YMap, key: str, ident: str) -> list[tuple[str, Pos]]:
        """Return a list of texts with their positions (a single text counts as one)."""
        value = data.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            return [(value, data.where(key))]
        if not isinstance(value, YList):
            self.problem(
                data.where(key), ident, f"'{key}' はリストで書きます", f"{key}: [a, b] と書きます"
            )
            return []
        return [(str(v), p) for v, p in zip(value.texts(), value.item_pos, strict=True)]

    def a_date(self, data: YMap, key: str, ident: str) -> date | None:
        """Return a date value, reporting anything that is not YYYY-MM-DD."""
        value = data.get(key)
        if value is None or (isinstance(value, date) and not hasattr(value, "hour")):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.problem(
                data.where(key), ident, f"'{key}' は日付で書きます", "YYYY-MM-DD で書きます"
            )
            return None

    def compile(
        self,
        compiler: Compiler,
        data: YMap,
        key: str,
        ident: str,
        expected: Ty | None,
        scope: Scope | None = None,
    ) -> Compiled | None:
        """Compile the expression under a key, reporting errors at their column."""
        try:
            return compiler.compile(data[key], expected, scope)
        except CompileError as exc:
            self.problem(data.where(key).at(exc.at), ident, exc.message, exc.hint)
            return None

    def binding(
        self, compiler: Compiler, data: YMap, key: str, ident: str, scope: Scope | None = None
    ) -> Binding | None:
        """Compile ``p in <persons>: <cond>`` under a key."""
        try:
            var, source, cond = compiler.compile_binder(data[key], scope)
        except CompileError as exc:
            self.problem(data.where(key).at(exc.at), ident, exc.message, exc.hint)
            return None
        slot = (scope or Scope()).bind(var, source.ty).vars[var][0]
        return Binding(var, slot, source, cond)

    def dup(self, seen: dict[str, Pos], ident_id: str, pos: Pos, ident: str) -> bool:
        """Report a duplicate id; return True when it is one."""
        first = seen.get(ident_id)
        if first is not None:
            self.problem(
                pos,
                ident,
                f"id '{ident_id}' が重複しています",
                f"最初の定義は {first.file}:{first.line}",
            )
            return True
        seen[ident_id] = pos
        return False

    # -- reading ---------------------------------------------------------------------------

    def read(self, files: list[tuple[Path, str]]) -> str:
        """Read every file, sort documents by their top-level key; return the version hash."""
        digest = hashlib.sha256()
        for path, name in files:
            try:
                raw = path.read_bytes()
            except OSError as exc:
                self.problem(
                    Pos(name, 1, 1),
                    "ファイル",
                    f"読み込めません（{exc.strerror}）",
                    "ファイルの場所と権限を確かめます",
                )
                continue
            digest.update(name.encode() + b"\0" + raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.problem(
                    Pos(name, 1, 1), "ファイル", "UTF-8 の文字ではありません", "UTF-8 で保存します"
                )
                continue
            data, problems = read_yaml(name, text)
            self.problems.extend(problems)
            if data is None:
                if not problems:
                    self.problem(
                        Pos(name, 1, 1),
                        "ファイル",
                        "ファイルが空です",
                        f"次のどれかで始めます: {', '.join(KINDS)}",
                    )
                continue
            if not isinstance(data, YMap) or len(data) != 1:
                pos = data.pos if isinstance(data, YMap | YList) else Pos(name, 1, 1)
                self.problem(
                    pos,
                    "ファイル",
                    "ルールのファイルには一番上のキーを1つだけ書きます",
                    f"次のどれか: {', '.join(KINDS)}",
                )
                continue
            (kind,) = data
            if kind not in KINDS:
                self.problem(
                    data.key_pos[kind],
                    "ファイル",
                    f"不明な一番上のキー '{kind}'",
                    did_you_mean(kind, KINDS) or f"次のどれか: {', '.join(KINDS)}",
                )
                continue
            self.docs[kind].append((name, data[kind], data.where(kind)))
        return digest.hexdigest()[:12]

    # -- municipality, roles, events -------------------------------------------------------

    def department(self, item: YMap, ident: str, muni: Municipality) -> Department | None:
        """Return the department an item names, reporting unknown ones."""
        did = str(item.get("department", ""))
        found = muni.departments.get(did)
        if found is None and did:
            hint = (
                did_you_mean(did, muni.departments)
                or "municipality.yaml の departments: に追加します"
            )
            self.problem(item.where("department"), ident, f"不明な課 '{did}'", hint)
        return found

    def legal(self, data: YMap, key: str, ident: str) -> LegalBasis | None:
        """Check and build a legal basis naming a law of laws.yaml by id; report when missing."""
        if key not in data or data[key] is None:
            self.problem(
                data.pos,
                ident,
                "根拠法令がありません",
                "legal_basis: {law: <laws.yamlのid>, article: 第○条} を書きます",
            )
            return None
        mapped = self.mapping(data[key], data.where(key), ident, key)
        if mapped is None:
            return None
        if "url" in mapped:
            self.problem(
                mapped.key_pos["url"],
                ident,
                "legal_basis に url は書きません（旧形式）",
                "法令のURLは procedure_rules/laws.yaml に一度だけ書き、law: にそのidを書きます",
            )
        self.keys(mapped, ident, LEGAL_KEYS | {"url"}, ("law",))
        law_id = str(mapped.get("law", ""))
        law = self.law_table.get(law_id)
        if law is None:
            if law_id:
                by_name = next((lw.id for lw in self.law_table.values() if lw.name == law_id), None)
                hint = (
                    f"法令名ではなく laws.yaml のid を書きます: law: {by_name}"
                    if by_name
                    else did_you_mean(law_id, self.law_table)
                    or "procedure_rules/laws.yaml に法令を追加します（name, number, url）"
                )
                self.problem(mapped.where("law"), ident, f"不明な法令 '{law_id}'", hint)
            return None
        return LegalBasis(
            law.name, self.text(mapped, "article", ident), law.url, law.id, law.number
        )


def _plain(value: Any) -> Any:
    """Turn YMap/YList into plain dicts and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _param_value_ok(ptype: str, value: Any) -> bool:
    """Tell whether a parameter value has the declared type."""
    if ptype in ("money", "integer"):
        return isinstance(value, int) and not isinstance(value, bool)
    if ptype == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if ptype == "boolean":
        return isinstance(value, bool)
    if ptype == "date":
        return isinstance(value, date)
    return isinstance(value, str)


def _choices_of(ty: Ty, facts: dict[str, FactDef]) -> dict[str, str] | None:
    """Return the labels of the choice fact a value comes from."""
    if not ty.choices or ty.labels is None:
        return None
    return dict(zip(ty.choices, ty.labels, strict=True))


def _format_hint(ty: Ty) -> str:
    """Suggest formats that fit a value's type."""
    if ty.kind == "date":
        return "format: wareki、wareki_parts または iso_date を使います"
    if ty.kind == "boolean":
        return "format: checkbox を使います"
    if ty.kind == "number":
        return "format: yen または text を使います"
    return "format: text を使います"


def _fact_ty(fact: FactDef) -> Ty:
    """Return the expression type of a declared fact."""
    if fact.type == "choice":
        return Ty("text", choices=tuple(fact.choices), labels=tuple(fact.choices.values()))
    if fact.type == "list" and fact.choices:
        return Ty(
            "list", Ty("text", choices=tuple(fact.choices), labels=tuple(fact.choices.values()))
        )
    return FACT_TYPES[fact.type]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return each dependency cycle among derived facts once, as a path back to its start."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found
