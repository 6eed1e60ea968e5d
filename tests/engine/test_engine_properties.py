"""Property tests: the parser raises only its own error; 和暦 formatting and parsing round-trip."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine.compiler import CompileError, Compiler
from app.engine.expr import ExprSyntaxError, parse, parse_binder
from app.engine.loader import load
from app.engine.wareki import format_wareki, parse_date, wareki_parts
from tests.engine.conftest import SAMPLE_PATHS

TOKENS = st.sampled_from(
    [
        "a", "p", "household", "deceased", ".", "age", "(", ")", "[", "]", ",", ":", "in", "not",
        "and", "or", "if", "else", "==", "<=", "+", "-", "*", "/", "1", "2.5", "'x'", '"y', "true",
        "any", "count", "date", "as_of", " ", "=", "\\", "＝", "#", "\n",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(TOKENS, max_size=25).map("".join)))
def test_parser_raises_only_its_own_error(text: str) -> None:
    for parser in (parse, parse_binder):
        try:
            parser(text)
        except ExprSyntaxError as exc:
            assert 0 <= exc.offset <= len(text)


_RULESET = load(SAMPLE_PATHS)


@settings(max_examples=300, deadline=None)
@given(st.lists(TOKENS, max_size=20).map("".join))
def test_compiler_raises_only_compile_errors(text: str) -> None:
    try:
        Compiler(_RULESET.symbols).compile(text)
    except CompileError as exc:
        assert exc.message


@given(st.dates(min_value=date(1868, 1, 25), max_value=date(2200, 12, 31)))
def test_wareki_round_trips(day: date) -> None:
    text = format_wareki(day)
    parsed = parse_date(text)
    assert parsed.value == day
    assert not parsed.outside_era
    parts = wareki_parts(day)
    letter = {"明治": "M", "大正": "T", "昭和": "S", "平成": "H", "令和": "R"}[parts.era]
    year = "1" if parts.year == "元" else parts.year
    assert parse_date(f"{letter}{year}.{parts.month}.{parts.day}").value == day


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "2025-04-01",
            "R7.4.1",
            "平成32年1月1日",
            "0001-01-01",
            "9999-12-31",
            "123456789018",
            "100-0001",
            "はい",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
FACT_KEYS = st.sampled_from(
    [
        *(k for k, f in _RULESET.facts.items() if not f.per_person),
        *(
            f"household[{n}].{k}"
            for n in range(3)
            for k, f in _RULESET.facts.items()
            if f.per_person
        ),
        "household[0].roles",
        "household[1].roles",
        "household[99].name",
        "nonsense",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(FACT_KEYS, JSON_VALUES, max_size=12),
    st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 30)),
)
def test_evaluate_takes_any_json_without_crashing(facts: dict[str, object], as_of: date) -> None:
    from app.engine import evaluate

    result = evaluate(_RULESET, facts, as_of)
    result.to_json()
