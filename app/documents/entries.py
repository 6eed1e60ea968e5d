"""The real forms' entries (実際の様式の記載事項) and which field of ours prints each.

Each form folder has ``entries.yaml``::

    sources:                      # the ministry's 様式 (kind: law / ministry) or two cities'
      - {kind: law, title: 戸籍法施行規則 附録第13号様式, url: https://…, date: 2026-12-03}
    entries:                      # in the real form's order
      - {entry: 届出日, field: todokede_date}        # a field of the definition
      - {entry: 子の氏名, field: children.name}      # a row field: <row id>.<field id>
      - {entry: 届出人署名, printed: 届出人署名}     # printed on the sheet (signature, office use)
      - {entry: 所得の状況, gap: 公簿で確認する}    # not on our form, and why

Coverage is the share of entries that are a field or printed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ENTRIES_FILE = "entries.yaml"
SOURCE_KINDS = {"law", "ministry", "city"}
ENTRY_KINDS = ("field", "printed", "gap")


@dataclass(frozen=True)
class Entry:
    """One entry of the real form and how ours carries it."""

    name: str
    kind: str  # field / printed / gap
    target: str  # the field id, the printed text, or why it is a gap


@dataclass(frozen=True)
class RealForm:
    """A real form's entries with their sources."""

    form_id: str
    sources: tuple[dict[str, str], ...]
    entries: tuple[Entry, ...]

    @property
    def covered(self) -> int:
        """Return how many entries our form carries."""
        return sum(1 for e in self.entries if e.kind != "gap")


class EntriesError(Exception):
    """entries.yaml is malformed; the message names the file and the fix."""


def read_real_form(folder: Path) -> RealForm:
    """Read ``<folder>/entries.yaml``; raise EntriesError naming the file and the item."""
    path = folder / ENTRIES_FILE
    if not path.is_file():
        raise EntriesError(f"{path}: missing (list the real form's entries and their sources)")
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or set(data) != {"sources", "entries"}:
        raise EntriesError(f"{path}:1:1: keys must be exactly ['entries', 'sources']")
    sources = []
    for n, source in enumerate(data["sources"] or [], 1):
        if not isinstance(source, dict) or source.get("kind") not in SOURCE_KINDS:
            raise EntriesError(f"{path}: source {n}: kind must be one of {sorted(SOURCE_KINDS)}")
        for key in ("title", "url", "date"):
            if not str(source.get(key) or "").strip():
                raise EntriesError(f"{path}: source {n}: '{key}' is empty")
        sources.append({k: str(v) for k, v in source.items()})
    entries = []
    for n, item in enumerate(data["entries"] or [], 1):
        kinds = [k for k in ENTRY_KINDS if k in (item or {})]
        if not isinstance(item, dict) or "entry" not in item or len(kinds) != 1:
            raise EntriesError(f"{path}: entry {n}: write entry: and one of {list(ENTRY_KINDS)}")
        entries.append(Entry(str(item["entry"]), kinds[0], str(item[kinds[0]])))
    return RealForm(folder.name, tuple(sources), tuple(entries))


def coverage_table(root: Path, form_ids: list[str]) -> list[tuple[str, int, int]]:
    """Return (form id, covered, entries) for each form, in the given order."""
    rows = []
    for form_id in form_ids:
        real = read_real_form(root / form_id)
        rows.append((form_id, real.covered, len(real.entries)))
    return rows


if __name__ == "__main__":  # python -m app.documents.entries: the coverage per form
    templates = Path(__file__).resolve().parents[2] / "pdf_templates"
    ids = sorted(p.name for p in templates.iterdir() if (p / ENTRIES_FILE).is_file())
    table = coverage_table(templates, ids)
    for form_id, covered, total in table:
        print(f"{form_id:28} {covered:3}/{total:<3} {100 * covered / total:5.1f} %")
    done, total = sum(r[1] for r in table), sum(r[2] for r in table)
    print(
        f"{'all ' + str(len(table)) + ' forms':28} {done:3}/{total:<3} {100 * done / total:5.1f} %"
    )
    sys.exit(0)
