"""The rule sets of a running app: the published versions, each loaded once and kept.

A case is evaluated with the latest published version whose ``effective_from`` is on or
before its application date. Versions live in the database, so every process sees the same
ones; each process keeps the timeline of published versions (refreshed every
``CHECK_SECONDS``, one small query) and a cache of compiled rule sets keyed by content hash,
so a version published today with a later ``effective_from`` takes over on that day without
a restart, and evaluation costs no more than before.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Flask, has_app_context
from sqlalchemy import select

from app import clock
from app.engine import LoadError, Problem, Result, RuleSet, evaluate, load
from app.extensions import db
from app.models.ruleset import RuleSetVersion
from app.process import freeze_long_lived, release_frozen
from app.services.ruleset_store import FROM_THE_START, ensure_seeded, files_of

CHECK_SECONDS = 2.0
# Compiled rule sets kept per process. A case's date picks one of the few versions in force
# over recent years, and a policy user compares a draft with the one in force: 6 covers both.
CACHE_SIZE = 6
_EXTENSION_KEY = "kakanai_rules"
log = logging.getLogger("app.rules")

_cache: OrderedDict[str, RuleSet] = OrderedDict()
_cache_lock = threading.Lock()
# Versions that did not load in this process (content hash -> why), not tried again.
_refused: dict[str, str] = {}


_TEMP_ROOT = "kakanai-ruleset-"


def rule_set_path(path: str) -> str:
    """Return a path inside a version written to a temporary folder, relative to the rule set."""
    if _TEMP_ROOT not in path:
        return path
    return path.split(_TEMP_ROOT, 1)[1].split("/", 1)[-1]


def relative_problem(problem: Problem, root: str) -> Problem:
    """Return a problem with the temporary folder a version was written to left out."""
    prefix = root.rstrip("/") + "/"
    return replace(
        problem,
        file=problem.file.replace(prefix, ""),
        message=problem.message.replace(prefix, ""),
        hint=problem.hint.replace(prefix, ""),
    )


def load_files(files: Mapping[str, bytes], version_name: str) -> RuleSet:
    """Compile a version's files into a RuleSet named by the version.

    :raises LoadError: every problem, each with its path relative to the rule set.
    """
    with tempfile.TemporaryDirectory(prefix=_TEMP_ROOT) as tmp:
        root = Path(tmp)
        for name, data in files.items():
            if name.startswith(("procedure_rules/", "form_definitions/")):
                path = root / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        (root / "procedure_rules").mkdir(exist_ok=True)
        (root / "form_definitions").mkdir(exist_ok=True)
        try:
            ruleset = load([root / "procedure_rules", root / "form_definitions"])
        except LoadError as exc:
            raise LoadError([relative_problem(p, str(root)) for p in exc.problems]) from None
    files_named = tuple(f.replace(str(root) + "/", "") for f in ruleset.files)
    return replace(ruleset, version=version_name, files=files_named)


def cached_ruleset(version: RuleSetVersion) -> RuleSet:
    """Return a version's compiled rule set, loading it on first use in this process.

    :raises LoadError: the version's content does not load.
    """
    key = version.content_hash
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    ruleset = load_files(files_of(version), version.name)
    with _cache_lock:
        _cache[key] = ruleset
        _cache.move_to_end(key)
        evicted = len(_cache) > CACHE_SIZE
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    # A rule set is large and lives for hours: freeze it so collections during evaluation
    # do not rescan it; an evicted one must be unfrozen to be collected (app.process).
    if evicted:
        release_frozen()
    else:
        freeze_long_lived()
    log.info("rule set version %s loaded", version.name)
    return ruleset


@dataclass(frozen=True)
class InForce:
    """One published version on the timeline: from which application date, and which."""

    version_id: int
    name: str
    content_hash: str
    effective_from: date
    published_at: datetime


class Timeline:
    """Hold one app's timeline of published versions, refreshed every ``CHECK_SECONDS``."""

    def __init__(self, app: Flask, ticks: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self._ticks = ticks
        self._lock = threading.Lock()
        self._entries: tuple[InForce, ...] = ()
        self._checked = float("-inf")

    def entries(self) -> tuple[InForce, ...]:
        """Return the published versions, newest effective date (then publication) first."""
        now = self._ticks()
        if now - self._checked < CHECK_SECONDS and self._entries:
            return self._entries
        with self._lock:
            if now - self._checked < CHECK_SECONDS and self._entries:
                return self._entries
            ensure_seeded(self.app.config, clock.now())
            rows = db.session.execute(
                select(
                    RuleSetVersion.id,
                    RuleSetVersion.content_hash,
                    RuleSetVersion.effective_from,
                    RuleSetVersion.published_at,
                ).where(RuleSetVersion.status == "published")
            ).all()
            self._entries = tuple(
                sorted(
                    (
                        InForce(r[0], r[1][:12], r[1], r[2] or FROM_THE_START, r[3] or datetime.min)
                        for r in rows
                    ),
                    key=lambda e: (e.effective_from, e.published_at, e.version_id),
                    reverse=True,
                )
            )
            self._checked = now
            return self._entries

    def forget(self) -> None:
        """Read the timeline again on next use (after a publish in this process)."""
        self._checked = float("-inf")

    def in_force(self, as_of: date) -> InForce:
        """Return the published version in force for an application date.

        :raises LoadError: nothing is published for that date.
        """
        for entry in self.entries():
            if entry.effective_from <= as_of:
                return entry
        raise LoadError(
            [
                Problem(
                    "procedure_rules",
                    1,
                    1,
                    "rules",
                    f"{as_of} に有効な公開済みの版がありません",
                    "",
                )
            ]
        )


def timeline(app: Flask) -> Timeline:
    """Return the app's Timeline, creating it on first use."""
    found = app.extensions.get(_EXTENSION_KEY)
    if found is None:
        found = app.extensions[_EXTENSION_KEY] = Timeline(app)
    assert isinstance(found, Timeline)
    return found


def version_in_force(app: Flask, as_of: date) -> InForce:
    """Return which published version applies to an application date.

    :raises LoadError: nothing is published for that date.
    """
    return timeline(app).in_force(as_of)


def ruleset_for(app: Flask, as_of: date) -> RuleSet:
    """Return the rule set in force for an application date.

    :raises LoadError: nothing is published for that date, or it does not load.
    """
    if not has_app_context():  # a script or test holding only the app: the database needs one
        with app.app_context():
            return ruleset_for(app, as_of)
    entries = [e for e in timeline(app).entries() if e.effective_from <= as_of]
    if not entries:
        timeline(app).in_force(as_of)  # raises the LoadError that says nothing is published
    for entry in entries:
        with _cache_lock:
            found = _cache.get(entry.content_hash)
        if found is not None:
            return found
        if entry.content_hash in _refused:
            continue
        version = db.session.get(RuleSetVersion, entry.version_id)
        assert version is not None
        try:
            return cached_ruleset(version)
        except Exception as error:  # noqa: BLE001 (any failure refuses the version)
            # A version that does not load here (a loader bug, memory, a recursion) is
            # refused, and the previous published version stays in force: one broken
            # version must not take every counter page down.
            _refused[entry.content_hash] = f"{type(error).__name__}: {error}"[:500]
            log.error(
                "rule set version %s does not load (%s); the previous version stays in force",
                entry.name,
                _refused[entry.content_hash],
            )
    raise LoadError(
        [
            Problem(
                "procedure_rules", 1, 1, "rules",
                f"{as_of} に有効な版を読み込めません（{_refused.get(entries[0].content_hash, '')}）",
                "制度所管課の画面で版の状態を確かめ、前の版を公開し直してください",
            )
        ]
    )  # fmt: skip


def current_ruleset(app: Flask) -> RuleSet:
    """Return the rule set in force today (screens that show no particular case).

    :raises LoadError: nothing is published, or it does not load.
    """
    if not has_app_context():
        with app.app_context():
            return ruleset_for(app, clock.today())
    return ruleset_for(app, clock.today())


def evaluate_case(app: Flask, facts: Mapping[str, Any], as_of: date) -> Result:
    """Evaluate a case's facts with the version in force on its application date."""
    return evaluate(ruleset_for(app, as_of), facts, as_of)


def rule_paths(config: Mapping[str, Any]) -> list[Path]:
    """Return the rule and form folders named by the app config (RULES_DIR, FORMS_DIR)."""
    return [Path(config["RULES_DIR"]), Path(config["FORMS_DIR"])]
