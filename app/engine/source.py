"""Read YAML keeping the line and column of every key and value, so errors can point at them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from app.engine.errors import Problem


@dataclass(frozen=True)
class Pos:
    """A 1-based position in a file, and how far a scalar's text starts after it (quotes)."""

    file: str
    line: int
    column: int
    inline: bool = True  # the scalar is on one line, so columns inside it can be added
    # For a scalar over several lines (a `>-` block, a long plain or quoted value): where
    # each line's text starts and how long it is, to find an offset inside the joined text.
    segments: tuple[tuple[int, int, int], ...] = field(default=(), compare=False)

    def at(self, offset: int) -> Pos:
        """Return the position ``offset`` characters into the scalar's text."""
        if self.inline:
            return Pos(self.file, self.line, self.column + offset)
        for line, column, length in self.segments:
            if offset <= length:
                return Pos(self.file, line, column + offset)
            offset -= length + 1  # the line break became one space or newline
        return self


class YMap(dict[str, Any]):
    """A YAML mapping that remembers where it, each key and each value starts."""

    pos: Pos
    key_pos: dict[str, Pos]
    val_pos: dict[str, Pos]
    # The written text of each unquoted value YAML read as something else than text
    # (660 for 11:00, a date for 2026-01-01): where the schema wants text, this is the text.
    raw: dict[str, str]

    def text_of(self, key: str) -> Any:
        """Return a key's value, or its text as written when it was an unquoted non-text scalar."""
        return self.raw.get(key, self.get(key))

    def where(self, key: str) -> Pos:
        """Return the position of a key's value, or of the mapping when the key is absent."""
        return self.val_pos.get(key, self.pos)


class YList(list[Any]):
    """A YAML sequence that remembers where it and each item starts."""

    pos: Pos
    item_pos: list[Pos]
    item_raw: list[str | None]  # as YMap.raw, per item (None: the item was read as written)

    def texts(self) -> list[Any]:
        """Return the items, each unquoted non-text scalar as its written text."""
        return [v if r is None else r for v, r in zip(self, self.item_raw, strict=True)]


# YAML 1.1 (PyYAML's default) reads yes/no/on/off as booleans, 11:00 as 660 (base 60) and
# 0123 as octal 83. Policy staff write such values as text, so plain scalars are resolved
# by a YAML 1.2-style core schema instead: only true/false are booleans, integers are
# decimal without a leading zero (or 0x/0o), floats are decimal, and dates stay dates
# (parameters and scenarios declare dates). What is not matched stays text; where the
# schema declares text the loader reads the written text (YMap.raw) in any case.
_CORE_RESOLVERS: list[tuple[str, re.Pattern[str], str]] = [
    ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    (
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        "-+0123456789",
    ),
    (
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), "~nN\0"),
    ("tag:yaml.org,2002:timestamp", re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), "0123456789"),
]


def _core_resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    """Return the implicit resolvers of the core schema, keyed by first character."""
    table: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    for tag, pattern, first in _CORE_RESOLVERS:
        for char in first:
            table.setdefault(None if char == "\0" else char, []).append((tag, pattern))
    table.setdefault(None, []).append(("tag:yaml.org,2002:null", re.compile(r"^$")))
    return table


def _core(base: type) -> type:
    """Return ``base`` with the core schema's resolvers instead of YAML 1.1's."""
    return type(
        f"Core{base.__name__}",
        (base,),
        {"yaml_implicit_resolvers": _core_resolvers(), "__doc__": "Read YAML with core types."},
    )


# libyaml composes ~10x faster than pure Python and keeps the same marks. Syntax errors
# are re-read with the Python parser, whose messages are clearer and the same everywhere.
_FAST_LOADER: Any = _core(getattr(yaml, "CSafeLoader", yaml.SafeLoader))
_SLOW_LOADER: Any = _core(yaml.SafeLoader)

_ALIAS_MESSAGE = "YAMLのアンカー（&）とエイリアス（*）は使えません"
_ALIAS_HINT = "同じ内容をそれぞれの場所にそのまま書いてください"


# Bounds on one file, so no rule file can make loading (lint, a version check, start-up)
# take unbounded time or memory: aliases are refused (above), a file is at most this big
# (the policy editor's own limit, POLICY_FILE_LIMIT, is lower), and collections nest at
# most this deep (PyYAML composes recursively: 1,000 "[" took 3 s to end in RecursionError).
MAX_YAML_CHARS = 1024 * 1024
MAX_YAML_DEPTH = 40


def _shape_problem(file: str, text: str, loader_class: Any) -> Problem | None:
    """Refuse a document too large or nested too deep, reading its events (no recursion)."""
    if len(text) > MAX_YAML_CHARS:
        return Problem(
            file, 1, 1, "YAML",
            f"ファイルが大きすぎます（{len(text):,}文字、上限{MAX_YAML_CHARS:,}文字）",
            "ファイルを分けるか、不要な部分を削ります",
        )  # fmt: skip
    depth = 0
    loader = loader_class(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    return _too_deep(file, event.start_mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                line, column = _line_column(event.start_mark)
                return Problem(file, line, column, "YAML", _ALIAS_MESSAGE, _ALIAS_HINT)
    except yaml.YAMLError as exc:
        if "depth" in str(exc):  # libyaml's own nesting limit, met while scanning ahead
            return _too_deep(file, getattr(exc, "problem_mark", None))
        return None  # a syntax error: reading the document reports it with its position
    finally:
        loader.dispose()
    return None


def _line_column(mark: Any) -> tuple[int, int]:
    """Return a PyYAML mark's 1-based line and column (1, 1 without one)."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _too_deep(file: str, mark: Any) -> Problem:
    """The problem of collections nested deeper than ``MAX_YAML_DEPTH``."""
    line, column = _line_column(mark)
    return Problem(
        file, line, column, "YAML",
        f"入れ子が深すぎます（上限{MAX_YAML_DEPTH}段）",
        "入れ子を浅くするか、別の項目に分けて書きます",
    )  # fmt: skip


class _AliasFound(Exception):
    """A node is reached twice: the document uses an alias; stop before expanding it."""

    def __init__(self, node: yaml.Node) -> None:
        super().__init__("alias")
        self.node = node


def _scalar_pos(file: str, node: yaml.Node, lines: list[str]) -> Pos:
    """Return where a node's text starts (after an opening quote), and its lines if several."""
    mark = node.start_mark
    style = getattr(node, "style", None)
    skip = 1 if style in ("'", '"') else 0
    block = style in ("|", ">")
    if mark.line == node.end_mark.line and not block:
        return Pos(file, mark.line + 1, mark.column + 1 + skip)
    if not isinstance(node, yaml.ScalarNode):
        return Pos(file, mark.line + 1, mark.column + 1, inline=False)
    segments: list[tuple[int, int, int]] = []
    first = mark.line + 1 if block else mark.line
    end = node.end_mark.line if node.end_mark.column == 0 else node.end_mark.line + 1
    for number in range(first, min(end, len(lines))):
        text = lines[number]
        start = mark.column + skip if number == mark.line else len(text) - len(text.lstrip(" "))
        body = text[start:].rstrip()
        segments.append((number + 1, start + 1, len(body)))
    return Pos(file, mark.line + 1, mark.column + 1 + skip, inline=False, segments=tuple(segments))


def _build(
    file: str,
    node: yaml.Node,
    loader: Any,
    problems: list[Problem],
    lines: list[str],
    seen: set[int],
) -> Any:
    """Turn a YAML node into YMap/YList/scalars with positions (refusing aliases)."""
    if id(node) in seen:
        raise _AliasFound(node)
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        result = YMap()
        result.pos = Pos(file, node.start_mark.line + 1, node.start_mark.column + 1)
        result.key_pos, result.val_pos, result.raw = {}, {}, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key_pos = _scalar_pos(file, key_node, lines)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                problems.append(
                    Problem(
                        file,
                        key_pos.line,
                        key_pos.column,
                        key,
                        "同じキーが2回書かれています",
                        "どちらか1つにします",
                    )
                )
                continue
            if id(key_node) in seen:
                raise _AliasFound(key_node)
            seen.add(id(key_node))
            result[key] = _build(file, value_node, loader, problems, lines, seen)
            written = _written(value_node, result[key])
            if written is not None:
                result.raw[key] = written
            result.key_pos[key] = key_pos
            result.val_pos[key] = _scalar_pos(file, value_node, lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = YList()
        items.pos = Pos(file, node.start_mark.line + 1, node.start_mark.column + 1)
        items.item_pos, items.item_raw = [], []
        for child in node.value:
            items.append(_build(file, child, loader, problems, lines, seen))
            items.item_pos.append(_scalar_pos(file, child, lines))
            items.item_raw.append(_written(child, items[-1]))
        return items
    return loader.construct_object(node, deep=True)


def _written(node: yaml.Node, value: Any) -> str | None:
    """Return the text of an unquoted scalar that was read as a non-text value, else None."""
    if isinstance(node, yaml.ScalarNode) and not node.style and not isinstance(value, str):
        return str(node.value) if value is not None else None
    return None


# PyYAML's messages are English; the ones policy staff meet are said again in Japanese,
# with the fix. Anything else keeps PyYAML's words inside a Japanese sentence.
_MESSAGES = {
    "mapping values are not allowed here": (
        "ここに「: 」は書けません",
        '「: 」を含む値は引用符で囲みます（例: for_each: "p in household: p.moving"）',
    ),
    "found character '\\t' that cannot start any token": (
        "タブ文字は使えません",
        "字下げは半角スペースで書きます",
    ),
    "could not find expected ':'": ("「:」が見つかりません", "キーの後に「: 」を書きます"),
    "did not find expected key": (
        "字下げがそろっていません",
        "同じ階層のキーは同じ位置から書きます",
    ),
    "did not find expected '-' indicator": (
        "字下げがそろっていません",
        "リストの項目は同じ位置の '- ' で始めます",
    ),
    "found unexpected end of stream": (
        "ファイルが途中で終わっています",
        "引用符やかっこが閉じているか確かめます",
    ),
    "found unknown escape character": (
        "使えないエスケープ文字があります",
        "二重引用符の中の \\ を確かめるか、単一引用符で囲みます",
    ),
}


def _japanese(what: str) -> tuple[str, str]:
    """Return a Japanese message and fix for a PyYAML problem."""
    for key, (message, hint) in _MESSAGES.items():
        if key in what:
            return message, hint
    return f"YAMLの書き方に誤りがあります（{what}）", "この位置の書き方を直します"


def read_yaml(file: str, text: str) -> tuple[Any, list[Problem]]:
    """Parse one YAML document into YMap/YList/scalars; return it and the problems found."""
    shape = _shape_problem(file, text, _FAST_LOADER)
    if shape is not None:
        return None, [shape]
    try:
        return _read(file, text, _FAST_LOADER)
    except yaml.YAMLError:
        pass
    try:
        return _read(file, text, _SLOW_LOADER)
    except RecursionError:  # the pure-Python composer recurses per level
        return None, [_too_deep(file, None)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message, hint = _japanese(exc.problem or "")
        return None, [Problem(file, line, column, "YAML", message, hint)]
    except yaml.YAMLError as exc:
        message, hint = _japanese(str(exc))
        return None, [Problem(file, 1, 1, "YAML", message, hint)]


def _read(file: str, text: str, loader_class: Any) -> tuple[Any, list[Problem]]:
    """Compose and build one document with the given loader class."""
    problems: list[Problem] = []
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, problems
        try:
            return _build(file, node, loader, problems, text.split("\n"), set()), problems
        except _AliasFound as found:
            mark = found.node.start_mark
            problems.append(
                Problem(file, mark.line + 1, mark.column + 1, "YAML", _ALIAS_MESSAGE, _ALIAS_HINT)
            )
            return None, problems
    finally:
        loader.dispose()
