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
