"""Check a version before it can go anywhere: lint the whole rule set, run every scenario,
and render every form template with its sample values.

A draft is content nobody has run yet: it is compiled in a separate process with a time and
memory budget, so YAML that makes the loader spin or swell costs that process, never the app.
Run as ``python -m app.services.ruleset_check`` it reads the files (JSON, base64) on stdin and
writes the problems and scenario outcomes as JSON.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine.errors import Problem

# Memory one check may use (address space); the shipped rule set compiles in about 200 MB.
MEMORY_LIMIT = 1536 * 1024 * 1024
_ROOT = Path(__file__).resolve().parents[2]  # where ``-m app.…`` is found
_results: OrderedDict[str, VersionCheck] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario test of the version: its name, where it is written and what differed."""

    name: str
    file: str
    line: int
    differences: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Tell whether every expectation held."""
        return not self.differences


@dataclass(frozen=True)
class VersionCheck:
    """What a check found: load problems, scenario results, or why it could not finish."""

    problems: tuple[Problem, ...] = ()
    scenarios: tuple[ScenarioResult, ...] = ()
    refused: str = ""  # the budget ran out: the check itself did not finish
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """Tell whether the version loads without a problem and every scenario passes."""
        return not self.refused and not self.problems and all(s.passed for s in self.scenarios)

    @property
    def failed_scenarios(self) -> list[ScenarioResult]:
        """Return the scenarios that did not pass."""
        return [s for s in self.scenarios if not s.passed]

    def problems_in(self, name: str) -> list[Problem]:
        """Return the problems found in one file."""
        return [p for p in self.problems if p.file == name]


def check_in_process(files: Mapping[str, bytes]) -> dict[str, Any]:
    """Load and test the files here; return what ``check_version`` reads back as JSON."""
    from app.engine import LoadError
    from app.engine.scenarios import run_scenarios
    from app.services.rules import load_files, rule_set_path
    from app.services.ruleset_templates import template_problems

    try:
        ruleset = load_files(files, "check")
    except LoadError as exc:
        return {"problems": [p.__dict__ for p in exc.problems], "scenarios": []}
    outcomes = run_scenarios(ruleset)
    # The version's templates print its cases' documents: each must load and render.
    templates = {fid: form.template for fid, form in ruleset.forms.items()}
    return {
        "problems": template_problems(files, templates),
        "scenarios": [
            {
                "name": o.scenario.name,
                "file": rule_set_path(o.scenario.pos.file),
                "line": o.scenario.pos.line,
                "differences": list(o.differences),
            }
            for o in outcomes
        ],
        "counts": {
            "procedures": len(ruleset.procedures),
            "forms": len(ruleset.forms),
            "scenarios": len(ruleset.scenarios),
        },
    }


def check_version(files: Mapping[str, bytes], content_hash: str, *, seconds: int) -> VersionCheck:
    """Lint the version and run its scenarios in a budgeted process; remember the answer."""
    with _lock:
        known = _results.get(content_hash)
    if known is not None:
        return known
    payload = json.dumps({n: base64.b64encode(d).decode("ascii") for n, d in files.items()})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "app.services.ruleset_check"],
            input=payload.encode("ascii"),
            capture_output=True,
            timeout=seconds,
            check=False,
            cwd=_ROOT,
        )
    except subprocess.TimeoutExpired:
        return VersionCheck(
            refused=f"ルールの読み込みが {seconds} 秒で終わりませんでした。"
            "式やファイルを小さくするか、直前の変更を取り消してください。"
        )
    if done.returncode != 0:
        memory = b"MemoryError" in done.stderr
        return VersionCheck(
            refused="ルールの読み込みがメモリの上限を超えました。直前の変更を取り消してください。"
            if memory
            else "ルールを確認する処理が異常終了しました。直前の変更を取り消してください。"
        )
    data = json.loads(done.stdout)
    result = VersionCheck(
        problems=tuple(Problem(**p) for p in data["problems"]),
        scenarios=tuple(
            ScenarioResult(s["name"], s["file"], s["line"], tuple(s["differences"]))
            for s in data["scenarios"]
        ),
        counts=data.get("counts", {}),
    )
    with _lock:
        _results[content_hash] = result
        while len(_results) > 32:
            _results.popitem(last=False)
    return result


def _main() -> None:
    """Check the files given on stdin under the memory budget; print the findings."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    raw = json.loads(sys.stdin.buffer.read())
    files = {name: base64.b64decode(text) for name, text in raw.items()}
    sys.stdout.write(json.dumps(check_in_process(files), ensure_ascii=False))


if __name__ == "__main__":
    _main()
