"""YAML is read without YAML 1.1's traps, and anchors/aliases are refused cheaply."""

from __future__ import annotations

import shutil
import time
from datetime import date
from pathlib import Path

from app.engine import load
from app.engine.source import read_yaml


def test_values_yaml_11_would_convert_stay_text() -> None:
    data, problems = read_yaml("x.yaml", "a: 11:00\nb: no\nc: 0123\nf: yes\nk: off\n")
    assert problems == []
    assert dict(data) == {"a": "11:00", "b": "no", "c": "0123", "f": "yes", "k": "off"}


def test_core_types_and_the_written_text_are_both_kept() -> None:
    data, _ = read_yaml("x.yaml", "d: 1e3\ne: 2026-01-01\ng: true\nh: 12\nl: [no, 0123, 7]\n")
    assert data["d"] == 1000.0 and data["e"] == date(2026, 1, 1) and data["g"] is True
    assert data.text_of("d") == "1e3" and data.text_of("e") == "2026-01-01"
    assert data.text_of("h") == "12"
    assert data["l"].texts() == ["no", "0123", "7"]


def test_quoted_values_stay_as_written() -> None:
    data, _ = read_yaml("x.yaml", "a: '12'\nb: \"true\"\n")
    assert data == {"a": "12", "b": "true"} and data.raw == {}


def _laughs(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, levels):
        refs = ", ".join([f"*a{n - 1}"] * 10)
        lines.append(f"a{n}: &a{n} [{refs}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_quickly_with_a_japanese_message() -> None:
    start = time.perf_counter()
    data, problems = read_yaml("laughs.yaml", _laughs(9))
    assert time.perf_counter() - start < 1.0
    assert data is None
    assert len(problems) == 1 and "エイリアス" in problems[0].message
    assert problems[0].file == "laughs.yaml" and problems[0].line >= 1


def test_merge_keys_are_refused_too() -> None:
    data, problems = read_yaml("m.yaml", "base: &b {x: 1}\nother:\n  <<: *b\n")
    assert data is None and "アンカー" in problems[0].message


def test_text_keys_keep_what_was_written_through_the_loader(tmp_path: Path) -> None:
    from tests.engine.conftest import SAMPLE

    copy = tmp_path / "rules"
    shutil.copytree(SAMPLE, copy)
    municipality = copy / "procedure_rules" / "municipality.yaml"
    text = municipality.read_text(encoding="utf-8")
    assert 'counter: "1番"' in text
    municipality.write_text(text.replace('counter: "1番"', "counter: 0123"), encoding="utf-8")
    ruleset = load([copy / "procedure_rules", copy / "form_definitions"])
    counters = [d.counter for d in ruleset.municipality.departments.values()]
    assert "0123" in counters
