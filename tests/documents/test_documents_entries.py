"""Every form lists the real form's entries with sources, and carries them (≥ 95 % in all)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.documents.entries import coverage_table, read_real_form
from app.documents.render import Documents
from tests.documents.conftest import CONTEXT, FORM_DEFINITIONS, definition, squash

FORM_IDS = [p.stem for p in FORM_DEFINITIONS]
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def field_ids(path: Path) -> set[str]:
    """Return the definition's field ids, row fields as <row>.<field>."""
    form = definition(path)
    ids = {f["id"] for f in form.get("fields") or []}
    for row in form.get("rows") or []:
        ids |= {f"{row['id']}.{f['id']}" for f in row["fields"]}
    return ids


@pytest.mark.parametrize("path", FORM_DEFINITIONS, ids=lambda p: p.stem)
def test_real_form_sources_are_the_ministry_or_two_cities(docs: Documents, path: Path) -> None:
    real = read_real_form(docs.root / (definition(path).get("template") or path.stem))
    official = [s for s in real.sources if s["kind"] in ("law", "ministry")]
    cities = [s for s in real.sources if s["kind"] == "city"]
    assert official or len(cities) >= 2, f"{path.stem}: cite the 様式 or two cities' forms"
    for source in real.sources:
        assert source["url"].startswith(("https://", "http://")), source
        assert DATE.match(source["date"]), f"{path.stem}: date {source['date']!r} not YYYY-MM-DD"


@pytest.mark.parametrize("path", FORM_DEFINITIONS, ids=lambda p: p.stem)
def test_every_listed_entry_has_a_field_or_is_printed(docs: Documents, path: Path) -> None:
    form_id = definition(path).get("template") or path.stem
    real = read_real_form(docs.root / form_id)
    ids = field_ids(path)
    missing = [
        (e.name, e.target) for e in real.entries if e.kind == "field" and e.target not in ids
    ]
    assert not missing, f"{form_id}/entries.yaml: no such field in the definition: {missing}"
    sample = dict(docs.catalog.form(form_id).sample)
    html = squash(re.sub(r"<[^>]+>", "", str(docs.render_form_html(form_id, sample, CONTEXT))))
    unprinted = [
        e.target for e in real.entries if e.kind == "printed" and squash(e.target) not in html
    ]
    assert not unprinted, f"{form_id}: entries said to be printed are not on the sheet: {unprinted}"


def test_forms_carry_95_percent_of_the_real_entries(docs: Documents) -> None:
    ids = [definition(p).get("template") or p.stem for p in FORM_DEFINITIONS]
    table = coverage_table(docs.root, ids)
    covered, total = sum(r[1] for r in table), sum(r[2] for r in table)
    assert covered / total >= 0.95, [r for r in table if r[1] < r[2]]
    low = [r for r in table if r[1] / r[2] < 0.85]
    assert not low, f"forms carrying under 85 % of the real entries: {low}"
