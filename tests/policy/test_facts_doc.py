"""docs/facts.md is generated from the YAML and must not drift from it."""

from __future__ import annotations

from app.engine import load
from app.policy.factdocs import CONTENT_PATHS, ROOT, fact_usage, facts_markdown


def test_facts_doc_matches_the_rules() -> None:
    committed = (ROOT / "docs" / "facts.md").read_text(encoding="utf-8")
    generated = facts_markdown(load(CONTENT_PATHS))
    assert committed == generated, (
        "docs/facts.md is out of date: run `python -m app.policy.factdocs > docs/facts.md`"
    )


def test_every_fact_is_listed_with_what_uses_it() -> None:
    ruleset = load(CONTENT_PATHS)
    text = facts_markdown(ruleset)
    usage = fact_usage(ruleset)
    for fid in ruleset.facts:
        assert f"| `{fid}` |" in text, fid
    # a derived fact's inputs count as used by whatever uses the derived fact
    assert "koki_sosaihi" in usage["birth_date"][0]
    assert "sosaihi_koki" in usage["funeral.date"][1]
    unused = [fid for fid, (procs, forms) in usage.items() if not procs and not forms]
    assert unused == [], f"facts no procedure or form uses: {unused}"
