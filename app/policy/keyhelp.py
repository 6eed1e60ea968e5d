"""The schema's help (app/engine/schema.py) where policy staff need it: beside a file and a problem."""

from __future__ import annotations

import re
from typing import Any

from app.engine.schema import Kind, kinds_of_file
from app.policy.blueprint import bp

# The two problems the loader reports about keys (app/engine/loader_base.py, ``keys``), and
# its 「'x' ではありませんか」 suggestion (app/engine/errors.py, ``did_you_mean``).
_UNKNOWN = re.compile(r"^不明なキー '([^']+)'$")
_MISSING = re.compile(r"^'([^']+)' がありません$")
_SUGGESTED = re.compile(r"^'([^']+)' ではありませんか$")


def key_of(problem: Any) -> str | None:
    """Return the key a problem is about: the missing key, or the one an unknown key was meant to be."""
    if m := _MISSING.match(problem.message):
        return m.group(1)
    if _UNKNOWN.match(problem.message) and (s := _SUGGESTED.match(problem.hint or "")):
        return s.group(1)
    return None


def problem_help(problem: Any, name: str) -> str:
    """Return the schema's help for the key a problem in file ``name`` is about, or ''."""
    key = key_of(problem)
    if key is None:
        return ""
    for kind in kinds_of_file(name):
        if key in kind.keys:
            return f"{key}: {kind.keys[key]}"
    return ""


@bp.context_processor
def _key_help() -> dict[str, Any]:
    """Offer the help to the workspace's templates (file.html lists it beside the editor)."""

    def file_kinds(name: str) -> list[Kind]:
        return kinds_of_file(name)

    return {"file_kinds": file_kinds, "problem_help": problem_help}
