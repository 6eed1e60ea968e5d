"""The resident's reading view: every printed value, under its label, grouped as printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine import evaluate, load
from app.services.reading import directions, printed, reading_forms, split_label
from tests.resident.conftest import scenario_facts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ruleset():
    return load([ROOT / "procedure_rules", ROOT / "form_definitions"])


def _result(ruleset, file="move_out.yaml", index=1):
    facts, as_of = scenario_facts(file, index)
    return evaluate(ruleset, facts, as_of)


def test_every_printed_value_is_read_under_its_label(ruleset):
    result = _result(ruleset)
    readings = reading_forms(ruleset, result)
    assert set(readings) == {f.key for f in result.forms}
    for form in result.forms:
        read = {(e.field, e.value) for g in readings[form.key].groups for e in g.entries}
        for field_id, value in form.fields.items():
            assert (field_id, printed(value)) in read, (form.key, field_id)
        for row_id, rows in form.rows.items():
            for row in rows:
                for field_id, value in row.items():
                    assert (f"{row_id}.{field_id}", printed(value)) in read


def test_groups_follow_the_labels_blocks_and_one_group_per_person(ruleset):
    readings = reading_forms(ruleset, _result(ruleset))
    kokuho = readings["kokuho_soshitsu"]
    titles = [g.title for g in kokuho.groups]
    assert "世帯主" in titles and "届出人" in titles
    head = next(g for g in kokuho.groups if g.title == "世帯主")
    assert [e.label for e in head.entries][:1] == [
        "氏名"
    ]  # 「世帯主 氏名」 reads 氏名 under 世帯主
    people = [t for t in titles if t.startswith("資格を喪失する")]
    assert len(people) == 4 and people[0].endswith("（1）")


def test_split_label_and_printed():
    assert split_label("世帯主 氏名") == ("世帯主", "氏名")
    assert split_label("氏名") == ("", "氏名")
    assert printed(None) == "" and printed(True) == "○" and printed(["a", None, "b"]) == "a、b"


def test_directions_walk_by_floor_then_counter(ruleset):
    walk = directions(_result(ruleset))
    assert walk, "a move-out sends the resident to at least one counter"
    keys = [(d.floor or 0, int("".join(c for c in d.counter or "0" if c.isdigit()))) for d in walk]
    assert keys == sorted(keys)
    assert all(d.procedures for d in walk)


def test_plain_japanese_goes_with_the_form_of_its_procedure(ruleset):
    import dataclasses

    result = _result(ruleset)
    procs = list(result.procedures)
    index = next(i for i, p in enumerate(procs) if "kokuho_soshitsu" in p.forms)
    procs[index] = dataclasses.replace(procs[index], plain="こくほを やめる とどけです。")
    result = dataclasses.replace(result, procedures=tuple(procs))
    readings = reading_forms(ruleset, result)
    assert readings["kokuho_soshitsu"].plain == (
        (procs[index].title, "こくほを やめる とどけです。"),
    )
    # every other form carries the plain text of the procedures that produce it, no other
    assert readings["jumin_idou"].plain == tuple(
        (p.title, p.plain) for p in procs if "jumin_idou" in p.forms and p.plain
    )
    from app.services.reading import explained_procedures

    assert (procs[index].title, "こくほを やめる とどけです。") in explained_procedures(result)
