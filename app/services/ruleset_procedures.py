"""The plain form for a procedure's common words: title, reason, やさしい日本語, note, bring.

Only the lines of those keys of the one procedure are rewritten (or added where the shipped
content puts them, or removed when emptied); every other line of its file — comments, the
conditions, deadlines, other procedures — stays as written, so a diff shows just the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from app.models.ruleset import RuleSetVersion
from app.services.ruleset_store import VersionError, save_file

# The keys the form edits, in the order the content writes them, and what each is called.
FIELDS = {
    "title": "手続の名前",
    "reason": "理由（職員が読み上げる文）",
    "note": "住民への案内（note）",
    "bring": "持ってくる物（1行に1つ）",
    "plain": "やさしい日本語の説明",
}
REQUIRED = ("title", "reason", "plain")
# Where a key that is not there yet goes: before the first of these keys of the procedure.
BEFORE = {
    "reason": ("deadline", "automatic", "forms", "note", "bring", "plain"),
    "note": ("bring", "plain"),
    "bring": ("plain",),
    "plain": (),
    "title": ("events", "department"),
}


@dataclass(frozen=True)
class ProcedureView:
    """A procedure's editable words as the plain form shows them."""

    id: str
    file: str
    line: int
    title: str
    reason: str
    plain: str
    note: str
    bring: tuple[str, ...]
    revision: int


def _compose(name: str, text: str) -> yaml.Node | None:
    """Return a file's YAML node tree, or refuse a file that is not YAML."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        raise VersionError(
            f"{name} が YAML として読めないので、この画面では編集できません。",
            hint="ファイルの編集画面で問題を直してください。",
            code="procedures_unreadable",
        ) from None


def _pairs(node: yaml.Node) -> dict[str, tuple[yaml.ScalarNode, yaml.Node]]:
    """Return a mapping node's keys with their key and value nodes."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _procedure_nodes(text: str, name: str) -> list[yaml.MappingNode]:
    """Return the mapping node of every procedure in a file (none if it holds no procedures)."""
    root = _compose(name, text)
    found = _pairs(root).get("procedures") if root is not None else None
    if found is None or not isinstance(found[1], yaml.SequenceNode):
        return []
    return [n for n in found[1].value if isinstance(n, yaml.MappingNode)]


def _text(node: yaml.Node | None) -> str:
    """Return a scalar node's text ('' for anything else)."""
    return node.value if isinstance(node, yaml.ScalarNode) else ""


def _list(node: yaml.Node | None) -> tuple[str, ...]:
    """Return a sequence node's texts (() for anything else)."""
    if isinstance(node, yaml.SequenceNode):
        return tuple(_text(n) for n in node.value)
    return ()


def _view(item: Any, node: yaml.MappingNode) -> ProcedureView:
    """Return a procedure node's editable words."""
    pairs = _pairs(node)

    def value(key: str) -> yaml.Node | None:
        """Return the value node of a key, if any."""
        return pairs[key][1] if key in pairs else None

    return ProcedureView(
        _text(value("id")),
        item.name,
        node.start_mark.line + 1,
        _text(value("title")),
        _text(value("reason")),
        _text(value("plain")),
        _text(value("note")),
        _list(value("bring")),
        item.revision,
    )


def procedure_files(version: RuleSetVersion) -> list[Any]:
    """Return the version's rule files that may hold procedures."""
    return [
        f
        for f in version.files
        if f.name.startswith("procedure_rules/") and f.name.endswith((".yaml", ".yml"))
    ]


def procedures(version: RuleSetVersion) -> list[ProcedureView]:
    """Return every procedure of a version with its editable words (unreadable files skipped)."""
    found: list[ProcedureView] = []
    for item in procedure_files(version):
        text = item.content.decode("utf-8", errors="replace")
        if "procedures:" not in text:
            continue
        try:
            nodes = _procedure_nodes(text, item.name)
        except VersionError:
            continue
        found += [_view(item, node) for node in nodes]
    return found


def _find(version: RuleSetVersion, procedure_id: str) -> tuple[Any, yaml.MappingNode]:
    """Return the file and node of a procedure, or refuse an unknown id (404)."""
    for item in procedure_files(version):
        text = item.content.decode("utf-8", errors="replace")
        if procedure_id not in text:
            continue
        for node in _procedure_nodes(text, item.name):
            if _text(_pairs(node).get("id", (None, None))[1]) == procedure_id:
                return item, node
    raise VersionError(
        f"手続「{procedure_id}」はこの版にありません。",
        hint="版のページの手続の一覧から選んでください。",
        code="unknown_procedure",
        status=404,
    )


def procedure(version: RuleSetVersion, procedure_id: str) -> ProcedureView:
    """Return one procedure's editable words.

    :raises VersionError: no procedure with that id (404), or its file cannot be read.
    """
    item, node = _find(version, procedure_id)
    return _view(item, node)


def _dump(value: str | list[str]) -> str:
    """Return a value as YAML on one line (quoted only where YAML needs it)."""
    if isinstance(value, list):
        return yaml.safe_dump(
            value, allow_unicode=True, default_flow_style=True, width=10**9
        ).strip()
    out = yaml.safe_dump(value, allow_unicode=True, width=10**9)
    return out.removesuffix("\n...\n").strip()


def _end(node: yaml.Node) -> Any:
    """Return where a value really ends: a block collection's mark is the next token's."""
    collection = isinstance(node, yaml.MappingNode | yaml.SequenceNode)
    if collection and not getattr(node, "flow_style", False) and node.value:
        last = node.value[-1]
        return _end(last[1] if isinstance(node, yaml.MappingNode) else last)
    return node.end_mark


def _span(key: yaml.Node, value: yaml.Node) -> tuple[int, int]:
    """Return the first and last line (0-based) a key and its value take."""
    end = _end(value)
    last = end.line - 1 if end.column == 0 and end.line > key.start_mark.line else end.line
    return key.start_mark.line, last


def rewrite_procedure(text: str, name: str, procedure_id: str, words: Mapping[str, Any]) -> str:
    """Return a file's text with one procedure's words replaced, added or removed.

    :raises VersionError: the procedure is not in the file, or is written in flow style.
    """
    for node in _procedure_nodes(text, name):
        pairs = _pairs(node)
        if _text(pairs.get("id", (None, None))[1]) != procedure_id:
            continue
        if node.flow_style:
            raise VersionError(
                f"手続「{procedure_id}」は {{…}} の1行で書かれているので、この画面では編集できません。",
                hint="ファイルの編集画面で直してください。",
                code="procedure_flow_style",
            )
        lines = text.splitlines(keepends=True)
        indent = " " * pairs["id"][0].start_mark.column
        # (first line, end line exclusive, order of the key, new lines)
        edits: list[tuple[int, int, int, list[str]]] = []
        last_line = max(_span(k, v)[1] for k, v in pairs.values())
        for order, key in enumerate(FIELDS):
            if key not in words:
                continue
            value = words[key]
            new = [f"{indent}{key}: {_dump(value)}\n"] if value else []
            if key in pairs:
                first, last = _span(*pairs[key])
                edits.append((first, last + 1, order, new))
            elif new:
                before = [pairs[k][0].start_mark.line for k in BEFORE[key] if k in pairs]
                at = min(before) if before else last_line + 1
                edits.append((at, at, order, new))
        # From the bottom up, so earlier line numbers hold; two keys added at the same spot
        # go in the order of FIELDS.
        for first, end, _order, new in sorted(edits, key=lambda e: e[:3], reverse=True):
            lines[first:end] = new
        result = "".join(lines)
        if not result.endswith("\n"):
            result += "\n"
        return result
    raise VersionError(f"手続「{procedure_id}」が {name} にありません。", code="unknown_procedure")


def parse_words(form: Mapping[str, str]) -> dict[str, Any]:
    """Read the plain form's fields: trimmed texts and the bring list, one item per line.

    :raises VersionError: a required text is empty, or a text has a line break.
    """
    words: dict[str, Any] = {}
    for key, label in FIELDS.items():
        raw = form.get(key, "").replace("\r\n", "\n")
        if key == "bring":
            words[key] = [line.strip() for line in raw.split("\n") if line.strip()]
            continue
        value = " ".join(part.strip() for part in raw.split("\n") if part.strip())
        if key in REQUIRED and not value:
            raise VersionError(
                f"「{label}」が空です。",
                hint="どの手続にも名前、職員が読み上げる理由、住民向けのやさしい日本語が必要です。",
                code=f"{key}_missing",
            )
        words[key] = value
    return words


def save_procedure_words(
    version: RuleSetVersion,
    procedure_id: str,
    words: Mapping[str, Any],
    *,
    expected_revision: int,
    actor: str,
    now: datetime,
    limit: int,
) -> Any:
    """Write a procedure's words into its file of a draft (committed).

    :raises EditConflict: the file was saved by someone else since the form opened.
    :raises VersionError: not a draft, or no such procedure.
    """
    item, _node = _find(version, procedure_id)
    text = rewrite_procedure(item.content.decode("utf-8"), item.name, procedure_id, words)
    return save_file(
        version,
        item.name,
        text.encode("utf-8"),
        expected_revision=expected_revision,
        actor=actor,
        now=now,
        limit=limit,
    )
