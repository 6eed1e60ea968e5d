"""``flask rules``: lint, test, evaluate and explain, as policy staff run them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "rules"
PATHS = [str(SAMPLE / "procedure_rules"), str(SAMPLE / "form_definitions")]

DEATH = {
    "case.events": ["death"],
    "death.date": "2025-04-07",
    "household[0].roles": ["deceased", "household_head"],
    "household[0].name": "山田 太郎",
    "household[0].birth_date": "1947-03-02",
    "household[1].roles": ["spouse", "applicant"],
}


@pytest.fixture
def sample_app(app: Flask) -> Flask:
    app.config.update(RULES_DIR=PATHS[0], FORMS_DIR=PATHS[1])
    return app


@pytest.fixture
def facts_file(tmp_path: Path) -> Path:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(DEATH, ensure_ascii=False), encoding="utf-8")
    return path


def test_lint_clean_sample(sample_app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["rules", "lint"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 10 procedures, 8 forms, ")
    # lint warnings (a deadline without why:) go to stderr in Japanese, at their position
    assert (
        "警告: procedure_rules/procedures/move_in.yaml:8:15: 手続 'tennyu_todoke': why: がありません"
        in (result.stderr)
    )


def test_lint_refuses_a_procedure_without_reason_or_plain(
    tmp_path: Path, runner: FlaskCliRunner
) -> None:
    """Issues 16 and 17: a procedure staff cannot read out, or a resident cannot read, is refused."""
    rules = tmp_path / "procedure_rules"
    shutil.copytree(SAMPLE / "procedure_rules", rules)
    death = rules / "procedures" / "death.yaml"
    text = death.read_text(encoding="utf-8")
    text = text.replace("    reason: 故人が国民健康保険の被保険者であるため\n", "", 1)
    text = text.replace("    plain: かそうの きょかを もうしこみます。\n", "", 1)
    death.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["rules", "lint", str(rules), PATHS[1]])
    assert result.exit_code == 1
    out = result.output
    assert (
        "procedure_rules/procedures/death.yaml:2:5: 手続 'kaso_kyoka': plain: がありません"
        "（住民向けのやさしい日本語の説明）" in out
    )
    assert (
        "procedure_rules/procedures/death.yaml:12:5: 手続 'kokuho_soshitsu': reason: がありません"
        "（職員が読み上げる、この手続が当たる理由）" in out
    )
    assert "ルールに問題が 2 件あります" in out
    assert str(tmp_path) not in out and "Traceback" not in out


def test_lint_reports_every_problem_with_position(
    runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    base = ["tests/data/rules/procedure_rules", "tests/data/rules/form_definitions"]
    result = runner.invoke(
        args=["rules", "lint", *base, "tests/data/broken/22_all_problems_together"]
    )
    assert result.exit_code == 1
    expected = (ROOT / "tests/data/broken/22_all_problems_together/expected.txt").read_text(
        encoding="utf-8"
    )
    assert expected in result.output
    assert "ルールに問題が 6 件あります" in result.output
    assert "Traceback" not in result.output


def test_scenarios_pass(sample_app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["rules", "test"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("4 passed, 0 failed")


def test_failing_scenario_shows_a_diff(tmp_path: Path, runner: FlaskCliRunner) -> None:
    rules = tmp_path / "procedure_rules"
    shutil.copytree(SAMPLE / "procedure_rules", rules)
    scenario = rules / "scenarios" / "death.yaml"
    scenario.write_text(
        scenario.read_text(encoding="utf-8").replace(
            "sosaihi_kokuho.amount: 70,000円", "sosaihi_kokuho.amount: 50,000円"
        ),
        encoding="utf-8",
    )
    result = runner.invoke(args=["rules", "test", str(rules), PATHS[1]])
    assert result.exit_code == 1
    assert "FAIL 78歳の世帯主が死亡、配偶者と子が残る" in result.output
    assert "  ≠ field sosaihi_kokuho.amount: expected '50,000円', got '70,000円'" in result.output
    assert result.output.strip().endswith("3 passed, 1 failed")


def test_scenario_files_reject_unknown_keys(tmp_path: Path, runner: FlaskCliRunner) -> None:
    rules = tmp_path / "procedure_rules"
    shutil.copytree(SAMPLE / "procedure_rules", rules)
    (rules / "scenarios" / "extra.yaml").write_text(
        "scenarios:\n  - name: x\n    as_of: 2025-04-10\n    facts: {}\n    expect: {procedures: []}\n    expected: {}\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["rules", "test", str(rules), PATHS[1]])
    assert result.exit_code == 1
    assert (
        "procedure_rules/scenarios/extra.yaml:6:5: シナリオ 'x': 不明なキー 'expected'（'expect' ではありませんか）"
        in result.output
    )


def test_evaluate_prints_the_result_json(
    sample_app: Flask, runner: FlaskCliRunner, facts_file: Path
) -> None:
    result = runner.invoke(
        args=["rules", "evaluate", "--facts", str(facts_file), "--as-of", "2025-04-10"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["as_of"] == "2025-04-10"
    assert [p["id"] for p in data["procedures"]] == ["kaso_kyoka", "kaigo_soshitsu"]
    assert [u["id"] for u in data["undecided"]] == [
        "kokuho_soshitsu",
        "sosaihi_kokuho",
        "inkan_haishi",
    ]
    assert data["next_questions"][0]["fact"] == "household[0].kokuho_member"


def test_evaluate_refuses_bad_input(
    sample_app: Flask, runner: FlaskCliRunner, tmp_path: Path, facts_file: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = runner.invoke(args=["rules", "evaluate", "--facts", str(bad), "--as-of", "2025-04-10"])
    assert result.exit_code == 1
    assert "bad.json:1:2: not JSON" in result.output
    result = runner.invoke(
        args=["rules", "evaluate", "--facts", str(facts_file), "--as-of", "10/4/2025"]
    )
    assert result.exit_code == 2
    assert "write the date as YYYY-MM-DD" in result.output


def test_explain(sample_app: Flask, runner: FlaskCliRunner, facts_file: Path) -> None:
    args = ["rules", "explain", "--facts", str(facts_file), "--as-of", "2025-04-10"]
    applies = runner.invoke(args=[*args, "kaigo_soshitsu"])
    assert applies.exit_code == 0, applies.output
    assert "判定: 該当します（household[0]）" in applies.output
    assert "    household[0].age = 78" in applies.output
    waiting = runner.invoke(args=[*args, "kokuho_soshitsu"])
    assert (
        "判定: まだ決まりません — 次の事実が分かれば決まります: household[0].kokuho_member"
        in waiting.output
    )
    other_event = runner.invoke(args=[*args, "teitaijuji"])
    assert "判定: 該当しません — 事由 birth のいずれでもありません" in other_event.output
    typo = runner.invoke(args=[*args, "kokuho_sositsu"])
    assert typo.exit_code == 1
    assert "不明な手続 'kokuho_sositsu'（'kokuho_soshitsu' ではありませんか）" in typo.output


# Issue 13 item 7: the strict machine contract.
BAD = {
    **DEATH,
    "household[0].nmae": "山田",
    "household[01].name": "別名",
    "household[1].roles": ["spouse", "aplicant"],
    "death.date": "2025-02-30",
}


def test_strict_evaluate_lists_every_problem_with_its_fact_and_exits_1(
    sample_app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(BAD, ensure_ascii=False), encoding="utf-8")
    args = ["rules", "evaluate", "--facts", str(path), "--as-of", "2025-04-10"]
    lenient = runner.invoke(args=args)
    assert lenient.exit_code == 0, lenient.output
    warnings = json.loads(lenient.stdout)["warnings"]
    assert {w.get("fact") for w in warnings} >= {
        "household[0].nmae",
        "household[01].name",
        "household[1].roles",
        "death.date",
    }
    strict = runner.invoke(args=[*args, "--strict"])
    assert strict.exit_code == 1
    problems = {p["fact"]: p for p in json.loads(strict.stdout)["problems"]}
    assert problems["household[0].nmae"]["code"] == "unknown_fact"
    assert "'household[0].name' ではありませんか" in problems["household[0].nmae"]["message"]
    assert problems["household[01].name"]["code"] == "ambiguous_key"
    assert "household[1].name と書いてください" in problems["household[01].name"]["message"]
    assert problems["household[1].roles"]["code"] == "unknown_role"
    assert "'applicant' ではありませんか" in problems["household[1].roles"]["message"]
    assert problems["death.date"]["code"] == "invalid_fact"
    # A clean case passes strict and prints the Result.
    (tmp_path / "clean.json").write_text(json.dumps(DEATH), encoding="utf-8")
    clean = runner.invoke(
        args=["rules", "evaluate", "--facts", str(tmp_path / "clean.json"), "--strict"]
    )
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout)["procedures"]


def test_the_padded_key_does_not_become_a_second_member(
    sample_app: Flask, runner: FlaskCliRunner, facts_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "padded.json"
    path.write_text(json.dumps({**DEATH, "household[02].name": "x"}), encoding="utf-8")
    out = runner.invoke(args=["rules", "evaluate", "--facts", str(path), "--as-of", "2025-04-10"])
    same = runner.invoke(
        args=["rules", "evaluate", "--facts", str(facts_file), "--as-of", "2025-04-10"]
    )
    assert json.loads(out.stdout)["forms"] == json.loads(same.stdout)["forms"]


def test_evaluate_reads_the_api_envelope_and_says_which_date_it_used(
    sample_app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    envelope = tmp_path / "envelope.json"
    envelope.write_text(json.dumps({"facts": DEATH, "as_of": "2025-04-10"}), encoding="utf-8")
    result = runner.invoke(args=["rules", "evaluate", "--facts", str(envelope)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["as_of"] == "2025-04-10"
    assert data["procedures"], "the envelope's facts were evaluated, not ignored"

    conflicting = runner.invoke(
        args=["rules", "evaluate", "--facts", str(envelope), "--as-of", "2025-05-01"]
    )
    assert conflicting.exit_code == 1
    assert "どちらか一つにしてください" in conflicting.output

    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"facts": DEATH, "asof": "2025-04-10"}), encoding="utf-8")
    refused = runner.invoke(args=["rules", "evaluate", "--facts", str(wrong)])
    assert refused.exit_code == 1
    assert "不明なキー: asof" in refused.output

    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(DEATH), encoding="utf-8")
    today = runner.invoke(args=["rules", "evaluate", "--facts", str(plain)])
    assert today.exit_code == 0
    assert "今日の日付を使いました" in today.stderr
