"""Compare two rule-set versions: which files changed, their line diff, and which
procedures, forms and parameters changed inside them."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import yaml

from app.models.ruleset import RuleSetVersion
from app.services.ruleset_store import TEXT_SUFFIXES, files_of

CHANGE_LABELS = {"added": "追加", "removed": "削除", "changed": "変更"}


@dataclass(frozen=True)
class FileChange:
    """One file that differs: how, its unified line diff, and the ids changed inside it."""

    name: str
    change: str  # added / removed / changed
    lines: tuple[str, ...]
    changed_ids: tuple[str, ...]

    @property
    def label(self) -> str:
        """Return the kind of change in Japanese."""
        return CHANGE_LABELS[self.change]


def _items(data: bytes) -> dict[str, Any]:
    """Return a rules file's entries by id (procedures, parameters, forms…); {} when unreadable.

    Files with aliases are left out: expanding them is what an alias bomb wants.
    """
    try:
        text = data.decode("utf-8")
        if any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=yaml.SafeLoader)):
            return {}
        doc = yaml.safe_load(text)
    except (UnicodeDecodeError, yaml.YAMLError):
        return {}
    if not isinstance(doc, dict) or len(doc) != 1:
        return {}
    ((kind, body),) = doc.items()
    if isinstance(body, list):
        return {
            f"{kind}:{item['id']}": item
            for item in body
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        }
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        return {f"{kind}:{body['id']}": body}
    if isinstance(body, dict):
        return {f"{kind}:{key}": value for key, value in body.items()}
    return {kind: body}


def changed_ids(old: bytes | None, new: bytes | None) -> tuple[str, ...]:
    """Return the entries (``procedures:kokuho_sosaihi``…) added, removed or changed."""
    before = _items(old) if old is not None else {}
    after = _items(new) if new is not None else {}
    return tuple(
        sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
    )


def _text(data: bytes | None) -> list[str]:
    if data is None:
        return []
    return data.decode("utf-8", errors="replace").splitlines()


def diff_versions(a: RuleSetVersion, b: RuleSetVersion) -> list[FileChange]:
    """Return every file that differs from version ``a`` to version ``b``, in name order."""
    old, new = files_of(a), files_of(b)
    changes: list[FileChange] = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        change = "added" if before is None else "removed" if after is None else "changed"
        if name.rsplit(".", 1)[-1] and "." + name.rsplit(".", 1)[-1] in TEXT_SUFFIXES:
            lines = tuple(
                difflib.unified_diff(
                    _text(before),
                    _text(after),
                    f"版 {a.name}: {name}",
                    f"版 {b.name}: {name}",
                    lineterm="",
                )
            )
        else:
            lines = ("（画像などのファイルなので行の比較はできません）",)
        ids = changed_ids(before, after) if name.endswith((".yaml", ".yml")) else ()
        parts = name.split("/")
        if parts[0] == "pdf_templates" and len(parts) > 2:  # a form's template, or all (_shared)
            ids = (f"template:{parts[1]}",)
        changes.append(FileChange(name, change, lines, ids))
    return changes
