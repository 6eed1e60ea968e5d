"""The procedure rule set of a running app: loaded once, kept on the app, reloaded on change.

The policy workspace publishes by changing the YAML on disk; every process notices within
``CHECK_SECONDS`` (a cheap fingerprint of file names, sizes and mtimes) and swaps in the new
rule set. A change that fails to load is logged and the previous rule set stays in use.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask

from app.engine import LoadError, Result, RuleSet, evaluate, load

CHECK_SECONDS = 2.0
_EXTENSION_KEY = "kakanai_rules"
log = logging.getLogger("app.rules")


def fingerprint(paths: list[Path]) -> tuple[tuple[str, int, int], ...]:
    """Return (path, size, mtime) of every YAML file under the paths: changes when any file does."""
    entries: list[tuple[str, int, int]] = []
    for root in paths:
        if root.is_file():
            stat = root.stat()
            entries.append((str(root), stat.st_size, stat.st_mtime_ns))
            continue
        for folder, _dirs, files in os.walk(root):
            for name in files:
                if name.endswith((".yaml", ".yml")):
                    path = os.path.join(folder, name)
                    try:
                        stat = os.stat(path)
                    except FileNotFoundError:  # deleted while we walked
                        continue
                    entries.append((path, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


class RulesHolder:
    """Hold one process's RuleSet and reload it when the files change."""

    def __init__(self, paths: list[Path], clock: Callable[[], float] = time.monotonic) -> None:
        self.paths = paths
        self._clock = clock
        self._lock = threading.Lock()
        self._ruleset: RuleSet | None = None
        self._print: tuple[tuple[str, int, int], ...] | None = None
        self._checked = float("-inf")
        self.last_error: LoadError | None = None

    def get(self) -> RuleSet:
        """Return the current rule set, reloading it first if the files changed.

        :raises LoadError: the rules have never loaded successfully in this process.
        """
        now = self._clock()
        ruleset = self._ruleset
        if ruleset is not None and now - self._checked < CHECK_SECONDS:
            return ruleset
        with self._lock:
            if self._ruleset is not None and now - self._checked < CHECK_SECONDS:
                return self._ruleset
            self._checked = now
            current = fingerprint(self.paths)
            if self._ruleset is None or current != self._print:
                self._reload(current)
            if self._ruleset is None:
                assert self.last_error is not None
                raise self.last_error
            return self._ruleset

    def _reload(self, current: tuple[tuple[str, int, int], ...]) -> None:
        """Load the rules; on failure keep the rule set in use and remember the error."""
        try:
            ruleset = load(self.paths)
        except LoadError as exc:
            self.last_error = exc
            self._print = current  # do not retry the same broken files on every request
            log.error("procedure rules failed to load; keeping the previous version:\n%s", exc)
            return
        # A rule set is large and lives for hours: move it out of the cyclic GC's young
        # generations so that collections during evaluation do not rescan it every time.
        gc.freeze()
        if self._ruleset is not None:
            log.info("procedure rules reloaded: version %s", ruleset.version)
        self._ruleset = ruleset
        self._print = current
        self.last_error = None


def rule_paths(config: Mapping[str, Any]) -> list[Path]:
    """Return the rule and form folders named by the app config (RULES_DIR, FORMS_DIR)."""
    return [Path(config["RULES_DIR"]), Path(config["FORMS_DIR"])]


def rules_holder(app: Flask) -> RulesHolder:
    """Return the app's RulesHolder, creating it on first use."""
    holder = app.extensions.get(_EXTENSION_KEY)
    if holder is None:
        holder = RulesHolder(rule_paths(app.config))
        app.extensions[_EXTENSION_KEY] = holder
    assert isinstance(holder, RulesHolder)
    return holder


def current_ruleset(app: Flask) -> RuleSet:
    """Return the rule set in force for this app.

    :raises LoadError: the rules have never loaded in this process.
    """
    return rules_holder(app).get()


def evaluate_case(app: Flask, facts: Mapping[str, Any], as_of: date) -> Result:
    """Evaluate a case's facts with the app's current rule set as of the application date."""
    return evaluate(current_ruleset(app), facts, as_of)
