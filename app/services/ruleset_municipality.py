"""The plain form for the municipality profile: the city, its departments (課・階・窓口),
options and closed days (休日条例), read from and written into ``municipality.yaml``.

Each value is written on its own key's line, keeping the comment after it and every comment
line around it; only the ``departments:`` list is written anew (one ``{id, name, floor,
counter}`` per line, as the shipped profile writes it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml

from app.models.ruleset import RuleSetVersion
from app.services.ruleset_store import VersionError, file_of, save_file

MUNICIPALITY_FILE = "procedure_rules/municipality.yaml"
CITY_FIELDS = {
    "name": "市区町村の名前",
    "code": "全国地方公共団体コード（6桁）",
    "prefecture": "都道府県",
    "address": "庁舎の住所",
    "phone": "代表電話",
}
_DEPARTMENT_ID = re.compile(r"[a-z][a-z0-9_]*")
_FLOW_SPECIAL = re.compile(r"[,\[\]{}#:&*!|>'\"%@`]")
_MONTH_DAY = re.compile(r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")


@dataclass(frozen=True)
class DepartmentRow:
    """One department as the form shows it."""

    id: str
    name: str
    floor: str
    counter: str


@dataclass(frozen=True)
class OptionRow:
    """One option: its key, value, and the comment above it in the file (what it means)."""

    key: str
    value: Any
    help: str


@dataclass(frozen=True)
class ProfileView:
    """The municipality profile as the plain form shows it."""

    city: dict[str, str]
    departments: tuple[DepartmentRow, ...]
    options: tuple[OptionRow, ...]
    year_end_from: str
    year_end_to: str
    extra: tuple[str, ...]
    basis: str
    revision: int


def _pairs(node: yaml.Node | None) -> dict[str, tuple[yaml.ScalarNode, yaml.Node]]:
    """Return a mapping node's keys with their key and value nodes."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _root(text: str) -> dict[str, tuple[yaml.ScalarNode, yaml.Node]]:
    """Return the keys of ``municipality:``, or refuse a file that cannot be read."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        root = None
    found = _pairs(root).get("municipality")
    if found is None or not isinstance(found[1], yaml.MappingNode) or found[1].flow_style:
        raise VersionError(
            f"{MUNICIPALITY_FILE} が読めないので、この画面では編集できません。",
            hint="ファイルの編集画面で問題を直してください。",
            code="municipality_unreadable",
        )
    return _pairs(found[1])


def _text(node: yaml.Node | None) -> str:
    """Return a scalar node's text ('' for anything else)."""
    return node.value if isinstance(node, yaml.ScalarNode) else ""


def _value(node: yaml.Node) -> Any:
    """Return a node's value as YAML reads it."""
    return yaml.safe_load(yaml.serialize(node))


def _comment_above(lines: list[str], line: int) -> str:
    """Return the comment lines right above a line, joined (what an option means)."""
    found: list[str] = []
    at = line - 1
    while at >= 0 and lines[at].strip().startswith("#"):
        found.insert(0, lines[at].strip().lstrip("#").strip())
        at -= 1
    return " ".join(found)


def profile(version: RuleSetVersion) -> ProfileView:
    """Return a version's municipality profile for the plain form.

    :raises VersionError: the file is missing or cannot be read.
    """
    item = file_of(version, MUNICIPALITY_FILE)
    text = item.content.decode("utf-8")
    lines = text.splitlines()
    keys = _root(text)
    city = {k: _text(keys[k][1]) if k in keys else "" for k in CITY_FIELDS}
    departments = []
    dep = keys.get("departments")
    if dep is not None and isinstance(dep[1], yaml.SequenceNode):
        for node in dep[1].value:
            row = _pairs(node)
            departments.append(
                DepartmentRow(
                    *(_text(row[k][1]) if k in row else "" for k in DepartmentRow.__annotations__)
                )
            )
    options = []
    for key, (knode, vnode) in _pairs(keys["options"][1] if "options" in keys else None).items():
        options.append(OptionRow(key, _value(vnode), _comment_above(lines, knode.start_mark.line)))
    closed = _pairs(keys["closed_days"][1] if "closed_days" in keys else None)
    year_end = _pairs(closed["year_end"][1] if "year_end" in closed else None)
    extra = _value(closed["extra"][1]) if "extra" in closed else []
    return ProfileView(
        city,
        tuple(departments),
        tuple(options),
        _text(year_end["from"][1]) if "from" in year_end else "12-29",
        _text(year_end["to"][1]) if "to" in year_end else "01-03",
        tuple(str(d) for d in extra or ()),
        _text(closed["basis"][1]) if "basis" in closed else "",
        item.revision,
    )


def _dump(value: Any) -> str:
    """Return a value as YAML on one line (flow style for lists and mappings)."""
    out = yaml.safe_dump(
        value, allow_unicode=True, default_flow_style=True, sort_keys=False, width=10**9
    )
    return out.removesuffix("\n...\n").strip()


def _flow_text(value: str) -> str:
    """Return text for inside a ``{…}`` line: plain when it can be, else double-quoted."""
    if _FLOW_SPECIAL.search(value) or value != value.strip() or not value:
        return json.dumps(value, ensure_ascii=False)
    return _dump(value)


def _end(node: yaml.Node) -> Any:
    """Return where a value really ends: a block collection's mark is the next token's."""
    block = isinstance(node, yaml.MappingNode | yaml.SequenceNode)
    if block and not getattr(node, "flow_style", False) and node.value:
        last = node.value[-1]
        return _end(last[1] if isinstance(node, yaml.MappingNode) else last)
    return node.end_mark


class _Edits:
    """Line edits to one text, applied from the bottom up so line numbers hold."""

    def __init__(self, text: str) -> None:
        """Hold the file's lines and no edit yet."""
        self.lines = text.splitlines(keepends=True)
        self.edits: list[tuple[int, int, list[str]]] = []

    def value(self, key: yaml.ScalarNode, value: yaml.Node, text: str) -> None:
        """Write a key's new value on its line, keeping a comment after the old value."""
        end = _end(value)
        first = key.start_mark.line
        if end.line == first:  # one line: keep what follows the value (a comment)
            tail = self.lines[first][end.column :].rstrip("\n")
            tail = tail if tail.strip().startswith("#") else ""
            line = f"{' ' * key.start_mark.column}{key.value}: {text}{tail}\n"
            self.edits.append((first, first + 1, [line]))
            return
        last = end.line - 1 if end.column == 0 else end.line
        line = f"{' ' * key.start_mark.column}{key.value}: {text}\n"
        self.edits.append((first, last + 1, [line]))

    def block(self, key: yaml.ScalarNode, value: yaml.Node, new: list[str]) -> None:
        """Replace a key and its whole block with new lines."""
        end = _end(value)
        last = end.line - 1 if end.column == 0 else end.line
        self.edits.append((key.start_mark.line, last + 1, new))

    def text(self) -> str:
        """Return the text with every edit applied."""
        lines = list(self.lines)
        for first, end, new in sorted(self.edits, key=lambda e: e[:2], reverse=True):
            lines[first:end] = new
        return "".join(lines)


def _check_rows(rows: list[DepartmentRow]) -> None:
    """Refuse department rows with a bad or repeated id, no name or a floor that is not a number."""
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        if not _DEPARTMENT_ID.fullmatch(row.id):
            raise VersionError(
                f"{number} 行目の課のid「{row.id}」は使えません。",
                hint="半角の小文字・数字・_ で、小文字から始めます（例: fukushi）。",
                code="bad_department_id",
            )
        if row.id in seen:
            raise VersionError(f"課のid「{row.id}」が2回あります。", code="dup_department")
        seen.add(row.id)
        if not row.name:
            raise VersionError(f"{number} 行目の課（{row.id}）の名前が空です。", code="no_name")
        if row.floor and not row.floor.isdigit():
            raise VersionError(
                f"{number} 行目の階「{row.floor}」が数字ではありません。",
                hint="2 のように半角数字で入力します（空欄でもかまいません）。",
                code="bad_floor",
            )


def parse_profile(form: Any, options: tuple[OptionRow, ...]) -> dict[str, Any]:
    """Read the plain form: city fields, department rows, options, closed days.

    ``form`` is the posted form (``get`` and ``getlist``). A department row whose 削除 box
    is ticked, or a new row left empty, is left out.

    :raises VersionError: a value that cannot be read, each said in Japanese.
    """
    city = {k: form.get(k, "").strip() for k in CITY_FIELDS}
    if not city["name"]:
        raise VersionError("市区町村の名前が空です。", code="no_city_name")
    removed = set(form.getlist("dept_remove"))
    rows = []
    for did, name, floor, counter in zip(
        form.getlist("dept_id"),
        form.getlist("dept_name"),
        form.getlist("dept_floor"),
        form.getlist("dept_counter"),
        strict=False,
    ):
        row = DepartmentRow(did.strip(), name.strip(), floor.strip(), counter.strip())
        if row.id in removed or not any((row.id, row.name, row.floor, row.counter)):
            continue
        rows.append(row)
    _check_rows(rows)
    if not rows:
        raise VersionError("課を1つ以上残してください。", code="no_departments")
    values: dict[str, Any] = {}
    for option in options:
        raw = form.get(f"option_{option.key}", "").strip()
        if isinstance(option.value, bool):
            values[option.key] = raw == "true"
        elif isinstance(option.value, int):
            if not raw.isdigit():
                raise VersionError(
                    f"設定「{option.key}」の値「{raw}」が数字ではありません。",
                    hint="半角数字で入力します。",
                    code="bad_option",
                )
            values[option.key] = int(raw)
        else:
            values[option.key] = raw
    year_end = {}
    for key, label in (("year_end_from", "年末年始の初日"), ("year_end_to", "年末年始の最終日")):
        raw = form.get(key, "").strip()
        if not _MONTH_DAY.fullmatch(raw):
            raise VersionError(
                f"{label}「{raw}」が読めません。",
                hint="12-29 のように 月-日 を半角で入力します。",
                code="bad_year_end",
            )
        year_end[key] = raw
    extra: list[date] = []
    for number, raw in enumerate(form.get("extra", "").replace("\r\n", "\n").split("\n"), 1):
        if not raw.strip():
            continue
        try:
            extra.append(date.fromisoformat(raw.strip()))
        except ValueError:
            raise VersionError(
                f"休日の {number} 行目「{raw.strip()}」が日付として読めません。",
                hint="2027-06-01 のように 年-月-日 を1行に1日ずつ入力します。",
                code="bad_closed_day",
            ) from None
    return {
        "city": city,
        "departments": rows,
        "options": values,
        **year_end,
        "extra": sorted(set(extra)),
        "basis": form.get("basis", "").strip(),
    }


def rewrite_profile(text: str, new: Mapping[str, Any]) -> str:
    """Return municipality.yaml with the form's values written in.

    :raises VersionError: the file cannot be read, or lacks departments/closed days.
    """
    keys = _root(text)
    edits = _Edits(text)
    for key in CITY_FIELDS:
        value = new["city"][key]
        if key in keys:
            # The code stays quoted: "012345" unquoted would be read as a number.
            edits.value(
                *keys[key], json.dumps(value, ensure_ascii=False) if key == "code" else _dump(value)
            )
    if "departments" not in keys:
        raise VersionError(
            f"{MUNICIPALITY_FILE} に departments: がありません。", code="no_departments"
        )
    dep_key, dep_value = keys["departments"]
    indent = " " * dep_key.start_mark.column
    rows = [f"{indent}departments:\n"]
    for row in new["departments"]:
        parts = [f"id: {row.id}", f"name: {_flow_text(row.name)}"]
        if row.floor:
            parts.append(f"floor: {int(row.floor)}")
        if row.counter:  # quoted, as the profile writes it ("1番")
            parts.append(f"counter: {json.dumps(row.counter, ensure_ascii=False)}")
        rows.append(f"{indent}  - {{{', '.join(parts)}}}\n")
    edits.block(dep_key, dep_value, rows)
    options = _pairs(keys["options"][1] if "options" in keys else None)
    for key, value in new["options"].items():
        if key in options:
            edits.value(*options[key], _dump(value))
    closed = _pairs(keys["closed_days"][1] if "closed_days" in keys else None)
    if not closed:
        raise VersionError(
            f"{MUNICIPALITY_FILE} に closed_days: がありません。", code="no_closed_days"
        )
    year_end = {"from": new["year_end_from"], "to": new["year_end_to"]}
    if "year_end" in closed:
        edits.value(
            *closed["year_end"], "{" + f'from: "{year_end["from"]}", to: "{year_end["to"]}"' + "}"
        )
    if "extra" in closed:
        edits.value(*closed["extra"], "[" + ", ".join(d.isoformat() for d in new["extra"]) + "]")
    if "basis" in closed:
        edits.value(*closed["basis"], _dump(new["basis"]))
    return edits.text()


def save_profile(
    version: RuleSetVersion,
    new: Mapping[str, Any],
    *,
    expected_revision: int,
    actor: str,
    now: datetime,
    limit: int,
) -> Any:
    """Write the profile into a draft's municipality.yaml (committed).

    :raises EditConflict: the file was saved by someone else since the form opened.
    :raises VersionError: not a draft, or the file cannot be read.
    """
    item = file_of(version, MUNICIPALITY_FILE)
    text = rewrite_profile(item.content.decode("utf-8"), new)
    return save_file(
        version,
        MUNICIPALITY_FILE,
        text.encode("utf-8"),
        expected_revision=expected_revision,
        actor=actor,
        now=now,
        limit=limit,
    )
