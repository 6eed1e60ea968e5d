"""docs/rules-format.md names exactly the keys the loader accepts (app/engine/schema.py).

The format document is what policy staff and vendors write content from; a key the loader
accepts but the document does not name (or the reverse) is a trap. Each section is read the
way it is written: a key table (first column) or a YAML example.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from app.engine import schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules-format.md"


def _sections() -> dict[str, str]:
    """Return the document's text under each heading, by heading."""
    parts: dict[str, str] = {}
    heading = ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            parts[heading] = ""
        else:
            parts[heading] = parts.get(heading, "") + line + "\n"
    return parts


def _section(start: str) -> str:
    """Return the text of the one section whose heading starts with ``start``."""
    found = [text for heading, text in _sections().items() if heading.startswith(start)]
    assert len(found) == 1, f"docs/rules-format.md: no single section headed '{start}…'"
    return found[0]


def _table_keys(text: str) -> set[str]:
    """Return the keys named in the first column of the section's first key table."""
    keys: set[str] = set()
    in_table = False
    for line in text.splitlines():
        if line.startswith("| key"):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            break
        if in_table and not line.startswith("|---"):
            first = line.split("|")[1]
            first = re.sub(r"\(.*?\)", "", first)  # `legal_basis` (`law`: …) names sub-keys
            keys |= {k.split(":")[0] for k in re.findall(r"`([^`]+)`", first)}
    return keys


def _example(text: str) -> object:
    """Return the section's first YAML example, parsed."""
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block, "the section has no YAML example"
    return yaml.safe_load(block.group(1).replace("      …\n", ""))


def _keys_of(items: list[dict[str, object]]) -> set[str]:
    """Return every key used by any of the mappings."""
    return {str(k) for item in items for k in item}


def test_fact_procedure_law_and_deadline_tables_name_exactly_the_accepted_keys() -> None:
    assert _table_keys(_section("Fact declaration")) == schema.FACT_KEYS
    assert _table_keys(_section("Laws")) == schema.LAW_KEYS
    assert _table_keys(_section("Deadlines")) == schema.DEADLINE_KEYS
    procedure_keys = _table_keys(_section("Procedures")) | {"automatic", "note"}
    # `automatic` and `note` are named inside the `forms` row, as the alternative to forms.
    assert "automatic: true" in _section("Procedures")
    assert procedure_keys == schema.PROCEDURE_KEYS


@pytest.mark.parametrize(
    ("heading", "top", "keys"),
    [
        ("Roles", "roles", schema.ROLE_KEYS),
        ("Life events", "events", schema.EVENT_KEYS),
        ("Parameters", "parameters", schema.PARAMETER_KEYS),
        ("Scenario tests", "scenarios", schema.SCENARIO_KEYS),
    ],
)
def test_each_yaml_example_uses_exactly_the_accepted_keys(
    heading: str, top: str, keys: set[str]
) -> None:
    example = _example(_section(heading))
    assert isinstance(example, dict)
    assert _keys_of(example[top]) == keys


def test_nested_examples_use_exactly_the_accepted_keys() -> None:
    parameters = _example(_section("Parameters"))["parameters"]  # type: ignore[index]
    assert _keys_of(parameters[0]["values"]) == schema.PARAM_VALUE_KEYS
    municipality = _example(_section("Municipality profile"))["municipality"]  # type: ignore[index]
    assert set(municipality) == schema.MUNICIPALITY_KEYS
    assert _keys_of(municipality["departments"]) == schema.DEPARTMENT_KEYS
    assert set(municipality["closed_days"]) == schema.CLOSED_DAYS_KEYS
    assert set(municipality["closed_days"]["year_end"]) == schema.YEAR_END_KEYS
    form = _example(_section("Forms"))["form"]  # type: ignore[index]
    assert set(form) == schema.FORM_KEYS
    fields = form["fields"] + [f for row in form["rows"] for f in row["fields"]]
    assert _keys_of(fields) == schema.FIELD_KEYS
    assert _keys_of(form["rows"]) == schema.ROW_KEYS
    expect = _example(_section("Scenario tests"))["scenarios"][0]["expect"]  # type: ignore[index]
    assert set(expect) == schema.EXPECT_KEYS


def test_a_key_missing_from_the_document_is_caught() -> None:
    """The reader itself: a table without one key no longer equals the schema."""
    text = _section("Laws").replace("| `url` |", "| url |")
    assert _table_keys(text) == schema.LAW_KEYS - {"url"}


def _help_tables() -> dict[str, dict[str, str]]:
    """Return the 「キーの説明」 tables: kind name (from the heading's `name`) → key → help."""
    tables: dict[str, dict[str, str]] = {}
    for heading, text in _sections().items():
        name = re.search(r" — `([a-z_]+)`$", heading)
        if not name:
            continue
        rows = {}
        for line in text.splitlines():
            cell = re.match(r"^\| `([^`]+)` \| (.*) \|$", line)
            if cell:
                rows[cell.group(1)] = cell.group(2)
        tables[name.group(1)] = rows
    return tables


def _expected_help_section() -> str:
    """The 「キーの説明」 tables as they should read (printed when the document differs)."""
    out = []
    for kind in schema.KINDS.values():
        out += [f"### {kind.title} — `{kind.name}`", "", "| key | 説明 |", "|---|---|"]
        out += [f"| `{key}` | {text.replace('|', '｜')} |" for key, text in kind.keys.items()]
        out.append("")
    return "\n".join(out)


def test_the_key_help_tables_equal_the_schema_help() -> None:
    """The help policy staff see in the workspace is the help the format document prints."""
    expected = {
        kind.name: {key: text.replace("|", "｜") for key, text in kind.keys.items()}
        for kind in schema.KINDS.values()
    }
    assert _help_tables() == expected, (
        "docs/rules-format.md 「キーの説明」 differs from app/engine/schema.py; it should read:\n"
        + _expected_help_section()
    )


def test_every_kind_and_key_has_one_line_of_japanese_help() -> None:
    for kind in schema.KINDS.values():
        assert re.search(r"[぀-ヿ一-鿿]", kind.title), kind.name
        for key, text in kind.keys.items():
            assert text and "\n" not in text, f"{kind.name}.{key}"
            assert re.search(r"[぀-ヿ一-鿿]", text), f"{kind.name}.{key}: not Japanese"


def test_a_changed_help_line_is_caught() -> None:
    """The reader itself: one help text edited in the document no longer equals the schema."""
    tables = _help_tables()
    assert tables["law"]["url"] == schema.KINDS["law"].keys["url"]
    text = _sections()["法令（laws.yaml の各項目） — `law`"]
    edited = text.replace(schema.KINDS["law"].keys["url"], "e-Gov のページ")
    assert edited != text
    rows = dict(re.findall(r"^\| `([^`]+)` \| (.*) \|$", edited, re.M))
    assert rows["url"] != schema.KINDS["law"].keys["url"]
