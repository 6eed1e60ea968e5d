"""Every broken rule file under tests/data/broken is refused with exactly its expected message.

Each case folder holds YAML laid over the sample rule set and ``expected.txt``: the full
lint output (one ``file:line:column: id: what (fix)`` per line), paths relative to the repo.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine import LoadError, load

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "data" / "broken"
CASES = sorted(p.name for p in BROKEN.iterdir() if p.is_dir())
BASE = ["tests/data/rules/procedure_rules", "tests/data/rules/form_definitions"]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES)
def test_broken_rules_give_the_expected_message(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    expected = (BROKEN / case / "expected.txt").read_text(encoding="utf-8").strip()
    with pytest.raises(LoadError) as caught:
        load([*BASE, f"tests/data/broken/{case}"])
    assert str(caught.value) == expected


def test_problems_carry_their_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(LoadError) as caught:
        load([*BASE, "tests/data/broken/04_unknown_fact"])
    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.ident) == (6, 19, "手続 'test_proc'")
    assert problem.hint == "'deceased.kokuho_member' ではありませんか"
