"""Process-wide garbage-collector state has one owner, app/process.py (docs/architecture.md)."""

from __future__ import annotations

import ast
import gc
import weakref
from pathlib import Path

from app import process

APP = Path(__file__).resolve().parents[1] / "app"
OWNER = APP / "process.py"


def test_only_app_process_freezes_the_collector() -> None:
    found = []
    for path in sorted(APP.rglob("*.py")):
        if path == OWNER:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in {"freeze", "unfreeze"}
                and isinstance(node.value, ast.Name)
                and node.value.id == "gc"
            ):
                found.append(f"{path.relative_to(APP.parent)}:{node.lineno}: gc.{node.attr}")
    assert not found, "call app.process instead:\n" + "\n".join(found)


class _Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_what_is_dropped_after_a_freeze_is_collected_on_release() -> None:
    try:
        node = _Node()
        alive = weakref.ref(node)
        process.freeze_long_lived()
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()
        assert alive() is not None  # frozen: the collector does not see it
        process.release_frozen()
        assert alive() is None
        assert gc.get_freeze_count() > 0  # what is still alive is frozen again
    finally:
        gc.unfreeze()


def test_garbage_from_before_the_freeze_is_not_frozen() -> None:
    try:
        gc.disable()  # as during a rule-set load
        node = _Node()
        alive = weakref.ref(node)
        del node
        gc.enable()
        process.freeze_long_lived()
        assert alive() is None
    finally:
        gc.enable()
        gc.unfreeze()
