"""Medium 6: a rule file cannot take the app down: aliases, deep nesting and huge files are
refused quickly in Japanese by the loader and by lint, and a published version that does not
load is refused while the previous one stays in force."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.engine import LoadError, load
from tests.security.conftest import ROOT

DEEP = "deep: " + "[" * 100_000 + "]" * 100_000 + "\n"


def _rules_with(tmp_path: Path, name: str, text: str) -> list[Path]:
    rules = tmp_path / "procedure_rules"
    shutil.copytree(ROOT / "procedure_rules", rules)
    (rules / name).write_text(text, encoding="utf-8")
    return [rules, ROOT / "form_definitions"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (DEEP, "入れ子が深すぎます"),
        (
            "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 80)) + "  " * 80 + "c: 1\n",
            "入れ子",
        ),
        ("x: '" + "あ" * 1_100_000 + "'\n", "ファイルが大きすぎます"),
    ],
    ids=["flow-100000", "block-80", "1.1M-characters"],  # aliases: tests/engine
)
def test_the_loader_refuses_a_dangerous_file_quickly_in_japanese(
    tmp_path: Path, text: str, said: str
) -> None:
    paths = _rules_with(tmp_path, "bad.yaml", text)
    started = time.monotonic()
    with pytest.raises(LoadError) as refused:
        load(paths)
    assert time.monotonic() - started < 15  # the whole rule set loads in a few seconds
    assert any(said in p.message and p.file.endswith("bad.yaml") for p in refused.value.problems)


def test_lint_refuses_a_deeply_nested_file_without_a_traceback(tmp_path: Path) -> None:
    paths = _rules_with(tmp_path, "bad.yaml", DEEP)
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "rules", "lint", *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "入れ子が深すぎます" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr


def _publish_broken(app: Flask, name: str, text: str) -> str:
    from app.extensions import db
    from app.services.rules import current_ruleset, timeline
    from app.services.ruleset_store import files_of, latest_published, new_version

    with app.app_context():
        seeded = current_ruleset(app).version  # seeds the first version
        base = latest_published()
        files = {**files_of(base), f"procedure_rules/{name}": text.encode()}
        broken = new_version(files, actor="p", now=datetime.now(), parent=base, note="broken")
        broken.status = "published"
        broken.effective_from = date.today() - timedelta(days=1)
        broken.published_at = datetime.now()
        broken.published_by = "p"
        db.session.commit()
        timeline(app).forget()
        return seeded


def test_a_published_version_that_does_not_load_leaves_the_previous_in_force(
    app: Flask, client: Any, login_as: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from app.services.rules import current_ruleset

    seeded = _publish_broken(app, "bad.yaml", DEEP)
    login_as("counter")
    assert client.get("/counter/").status_code == 200
    opened = client.post("/counter/cases", data={"events": ["death"], "channel": "counter"})
    assert opened.status_code == 302
    assert client.get(opened.headers["Location"]).status_code == 200
    with app.app_context():
        assert current_ruleset(app).version == seeded
    assert "does not load" in caplog.text


def test_any_loader_failure_refuses_the_version(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services import rules

    seeded = _publish_broken(app, "fine.yaml", "# a comment\n")
    real = rules.load

    def failing(paths: Any) -> Any:
        if any((Path(p) / "fine.yaml").exists() for p in paths):
            raise MemoryError  # what a loader bug or an exhausted process looks like
        return real(paths)

    monkeypatch.setattr(rules, "load", failing)
    rules._cache.clear()
    with app.app_context():
        assert rules.current_ruleset(app).version == seeded
