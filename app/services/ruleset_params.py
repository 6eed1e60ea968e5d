"""The plain form for a parameter's dated values (e.g. 葬祭費の額): read them, write the YAML.

Only the ``values:`` block of the one parameter is rewritten; every other line of
``procedure_rules/parameters.yaml`` (comments, order, other parameters) stays as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml

from app.models.ruleset import RuleSetVersion
from app.services.ruleset_store import VersionError, file_of, save_file

PARAMETERS_FILE = "procedure_rules/parameters.yaml"


@dataclass(frozen=True)
class DatedValue:
    """A parameter's value from one date on."""

    valid_from: date
    value: int


@dataclass(frozen=True)
class ParameterView:
    """A parameter as the plain form shows it."""

    id: str
    label: str
    type: str
    values: tuple[DatedValue, ...]
    revision: int


def _node_value(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _parameter_nodes(text: str) -> list[yaml.MappingNode]:
    """Return the mapping node of every parameter in the file's text."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        raise VersionError(
            f"{PARAMETERS_FILE} が YAML として読めないので、この画面では編集できません。",
            hint="ファイルの編集画面で問題を直してください。",
            code="parameters_unreadable",
        ) from None
    items = _node_value(root, "parameters") if root is not None else None
    if not isinstance(items, yaml.SequenceNode):
        return []
    return [n for n in items.value if isinstance(n, yaml.MappingNode)]


def _scalar(node: yaml.Node | None) -> str:
    return node.value if isinstance(node, yaml.ScalarNode) else ""


def parameters(version: RuleSetVersion) -> list[ParameterView]:
    """Return every parameter of a version with its dated values."""
    item = file_of(version, PARAMETERS_FILE)
    found: list[ParameterView] = []
    for node in _parameter_nodes(item.content.decode("utf-8")):
        values: list[DatedValue] = []
        seq = _node_value(node, "values")
        if isinstance(seq, yaml.SequenceNode):
            for entry in seq.value:
                try:
                    values.append(
                        DatedValue(
                            date.fromisoformat(_scalar(_node_value(entry, "valid_from"))),
                            int(_scalar(_node_value(entry, "value"))),
                        )
                    )
                except ValueError:
                    continue
        found.append(
            ParameterView(
                _scalar(_node_value(node, "id")),
                _scalar(_node_value(node, "label")),
                _scalar(_node_value(node, "type")),
                tuple(values),
                item.revision,
            )
        )
    return found


def parameter(version: RuleSetVersion, param_id: str) -> ParameterView:
    """Return one parameter of a version.

    :raises VersionError: there is no parameter with that id (404).
    """
    for found in parameters(version):
        if found.id == param_id:
            return found
    raise VersionError(
        f"パラメータ「{param_id}」は {PARAMETERS_FILE} にありません。",
        code="unknown_parameter",
        status=404,
    )


def parse_dated_values(rows: list[tuple[str, str]]) -> list[DatedValue]:
    """Read the form's rows of (date, amount); blank rows are skipped.

    :raises VersionError: a date or amount that cannot be read, or the same date twice.
    """
    values: list[DatedValue] = []
    for number, (raw_date, raw_value) in enumerate(rows, start=1):
        if not raw_date.strip() and not raw_value.strip():
            continue
        try:
            day = date.fromisoformat(raw_date.strip())
        except ValueError:
            raise VersionError(
                f"{number} 行目の日付「{raw_date}」が読めません。",
                hint="2027-04-01 のように年-月-日で入力してください。",
                code="bad_date",
            ) from None
        text = raw_value.strip().replace(",", "").replace("円", "")
        if not text.isdigit():
            raise VersionError(
                f"{number} 行目の値「{raw_value}」が数字ではありません。",
                hint="70000 のように半角数字で入力してください。",
                code="bad_amount",
            )
        values.append(DatedValue(day, int(text)))
    if not values:
        raise VersionError("値を1つ以上入力してください。", code="no_values")
    days = [v.valid_from for v in values]
    if len(set(days)) != len(days):
        raise VersionError(
            "同じ日付が2回あります。日付ごとに1つの値にしてください。", code="dup_date"
        )
    return sorted(values, key=lambda v: v.valid_from)


def rewrite_values(text: str, param_id: str, values: list[DatedValue]) -> str:
    """Return the file's text with one parameter's ``values:`` block replaced.

    :raises VersionError: the parameter is not in the file.
    """
    lines = text.splitlines(keepends=True)
    for node in _parameter_nodes(text):
        if _scalar(_node_value(node, "id")) != param_id:
            continue
        seq = _node_value(node, "values")
        keys = [k for k, _v in node.value if isinstance(k, yaml.ScalarNode) and k.value == "values"]
        if not keys or not isinstance(seq, yaml.SequenceNode):
            break
        key = keys[0]
        indent = " " * key.start_mark.column
        start = key.start_mark.line
        last = seq.value[-1].end_mark if seq.value else seq.end_mark
        # A block sequence ends where the next token starts; its last item ends on its line.
        end = last.line if last.column == 0 else last.line + 1
        block = [f"{indent}values:\n"] + [
            f"{indent}  - {{valid_from: {v.valid_from.isoformat()}, value: {v.value}}}\n"
            for v in values
        ]
        return "".join(lines[:start] + block + lines[end:])
    raise VersionError(
        f"パラメータ「{param_id}」の values: が見つかりません。", code="unknown_parameter"
    )


def save_parameter_values(
    version: RuleSetVersion,
    param_id: str,
    values: list[DatedValue],
    *,
    expected_revision: int,
    actor: str,
    now: datetime,
    limit: int,
) -> Any:
    """Write a parameter's dated values into a draft's parameters.yaml (committed).

    :raises EditConflict: the file was saved by someone else since the form opened.
    :raises VersionError: not a draft, or no such parameter.
    """
    item = file_of(version, PARAMETERS_FILE)
    text = rewrite_values(item.content.decode("utf-8"), param_id, values)
    return save_file(
        version,
        PARAMETERS_FILE,
        text.encode("utf-8"),
        expected_revision=expected_revision,
        actor=actor,
        now=now,
        limit=limit,
    )
