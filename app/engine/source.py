"""Read YAML keeping the line and column of every key and value, so errors can point at them."""

from __future__ import annotations

from dataclasses import dataclass
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

    def at(self, offset: int) -> Pos:
        """Return the position ``offset`` characters into a one-line scalar."""
        return Pos(self.file, self.line, self.column + offset, self.inline) if self.inline else self


class YMap(dict[str, Any]):
    """A YAML mapping that remembers where it, each key and each value starts."""

    pos: Pos
    key_pos: dict[str, Pos]
    val_pos: dict[str, Pos]

    def where(self, key: str) -> Pos:
        """Return the position of a key's value, or of the mapping when the key is absent."""
        return self.val_pos.get(key, self.pos)


class YList(list[Any]):
    """A YAML sequence that remembers where it and each item starts."""

    pos: Pos
    item_pos: list[Pos]


# libyaml composes ~10× faster than pure Python and keeps the same marks; scalars are
# resolved exactly as yaml.safe_load would. Syntax errors are re-read with the Python
# parser, whose messages are clearer and the same on every machine.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _scalar_pos(file: str, node: yaml.Node) -> Pos:
    mark = node.start_mark
    inline = node.start_mark.line == node.end_mark.line
    style = getattr(node, "style", None)
    skip = 1 if style in ("'", '"') else 0
    return Pos(file, mark.line + 1, mark.column + 1 + skip, inline and style not in ("|", ">"))


def _build(file: str, node: yaml.Node, loader: Any, problems: list[Problem]) -> Any:
    if isinstance(node, yaml.MappingNode):
        result = YMap()
        result.pos = Pos(file, node.start_mark.line + 1, node.start_mark.column + 1)
        result.key_pos, result.val_pos = {}, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key_pos = _scalar_pos(file, key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                problems.append(
                    Problem(
                        file,
                        key_pos.line,
                        key_pos.column,
                        key,
                        "duplicate key in this mapping",
                        "keep one of them",
                    )
                )
                continue
            result[key] = _build(file, value_node, loader, problems)
            result.key_pos[key] = key_pos
            result.val_pos[key] = _scalar_pos(file, value_node)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = YList()
        items.pos = Pos(file, node.start_mark.line + 1, node.start_mark.column + 1)
        items.item_pos = []
        for child in node.value:
            items.append(_build(file, child, loader, problems))
            items.item_pos.append(_scalar_pos(file, child))
        return items
    return loader.construct_object(node, deep=True)


_HINTS = {
    "mapping values are not allowed here": (
        "a value containing ': ' must be quoted, e.g. for_each: \"p in household: p.moving\""
    ),
    "found character '\\t' that cannot start any token": "indent with spaces, not tabs",
}


def read_yaml(file: str, text: str) -> tuple[Any, list[Problem]]:
    """Parse one YAML document into YMap/YList/scalars; return it and the problems found."""
    try:
        return _read(file, text, _FAST_LOADER)
    except yaml.YAMLError:
        pass
    try:
        return _read(file, text, yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "YAML syntax error"
        hint = next((h for k, h in _HINTS.items() if k in what), "fix the YAML syntax")
        return None, [Problem(file, line, column, "yaml", what, hint)]
    except yaml.YAMLError as exc:
        return None, [Problem(file, 1, 1, "yaml", str(exc), "fix the YAML syntax")]


def _read(file: str, text: str, loader_class: Any) -> tuple[Any, list[Problem]]:
    problems: list[Problem] = []
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, problems
        return _build(file, node, loader, problems), problems
    finally:
        loader.dispose()
