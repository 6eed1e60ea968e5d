"""Save a real case as a scenario (issue 14, 4): synthetic names, numbers and addresses, the
same outcome, audited, and the scenario passes in the draft's check."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from flask import Flask
from flask.testing import FlaskClient

from app.engine.mynumber import is_valid_my_number
from app.extensions import db
from app.models import AuditEvent
from app.services.case_scenario import SCENARIO_FILE, anonymise
from app.services.rules import ruleset_for
from app.services.ruleset_store import create_draft, file_of, latest_published
from app.services.versions import check
from tests.policy.conftest import NOW, version
from tests.policy.test_impact_and_cli import _login, _open_case
from tests.resident.conftest import scenario_facts

DAY = date(2025, 5, 12)


def _draft(app: Flask) -> int:
    with app.app_context():
        base = latest_published()
        assert base is not None
        return create_draft(base, actor="alice", now=NOW).id


def test_every_identifying_value_is_made_up_and_the_rest_kept(policy_app: Flask) -> None:
    facts, as_of = scenario_facts("death.yaml", 1)
    with policy_app.app_context():
        rules = ruleset_for(policy_app, as_of)
        made_up = anonymise(rules, facts)
    assert set(made_up) == {k for k, v in facts.items() if v is not None}
    for fact_id, value in facts.items():
        name = fact_id.split(".", 1)[-1]
        kept = made_up[fact_id]
        if name in ("name", "name_kana", "my_number", "juminhyo_code", "honseki", "phone"):
            assert kept != value, fact_id
        if isinstance(value, bool | date) or name in ("roles", "birth_date", "relationship"):
            assert kept == value, fact_id
    numbers = [v for k, v in made_up.items() if k.endswith(".my_number")]
    assert numbers and all(is_valid_my_number(n) for n in numbers)
    assert made_up["household.address"].startswith("東京都みどり市架空町")
    originals = {str(v) for k, v in facts.items() if k.endswith((".name", ".my_number"))}
    assert not originals & {str(v) for v in made_up.values()}


def test_a_case_saved_as_a_scenario_holds_no_personal_data_and_passes(
    policy_app: Flask, client: FlaskClient
) -> None:
    number = _open_case(policy_app, "death.yaml", 1, DAY)
    draft_id = _draft(policy_app)
    _login(client, "alice")
    page = client.get(
        f"/policy/versions/{draft_id}/compare", query_string={"case": number}
    ).get_data(as_text=True)
    assert 'id="save-as-scenario"' in page
    url = f"/policy/versions/{draft_id}/scenarios/from-case"
    saved = client.post(
        url,
        data={"case": number, "name": "国保の世帯主が死亡し妻と子が残る（案件から）"},
        follow_redirects=True,
    )
    body = saved.get_data(as_text=True)
    assert "案件をシナリオとして保存しました" in body
    facts, _ = scenario_facts("death.yaml", 1)
    with policy_app.app_context():
        text = file_of(version(draft_id), SCENARIO_FILE).content.decode("utf-8")
        for fact_id, value in facts.items():
            if fact_id.endswith((".name", ".name_kana", ".my_number", ".juminhyo_code")):
                assert str(value) not in text, fact_id
        assert number not in text
        (scenario,) = yaml.safe_load(text)["scenarios"]
        assert scenario["as_of"] == DAY and "kokuho_sosaihi" in scenario["expect"]["procedures"]
        result = check(version(draft_id), policy_app.config)
        assert not result.problems
        mine = [s for s in result.scenarios if s.file == SCENARIO_FILE]
        assert len(mine) == 1 and mine[0].passed, mine
        event = (
            db.session.query(AuditEvent).filter_by(action="ruleset_case_saved_as_scenario").one()
        )
        assert event.actor == "alice" and event.case_id is not None
    again = client.post(
        url,
        data={"case": number, "name": "国保の世帯主が死亡し妻と子が残る（案件から）"},
        follow_redirects=True,
    )
    assert "はこの版にもうあります" in again.get_data(as_text=True)
    nameless = client.post(url, data={"case": number, "name": " "}, follow_redirects=True)
    assert "シナリオの名前を入力してください。" in nameless.get_data(as_text=True)


def test_anonymising_keeps_the_outcome_of_every_shipped_scenario() -> None:
    from app.engine import evaluate, load
    from app.services.case_scenario import _outcome

    root = Path(__file__).resolve().parents[2]
    rules = load([root / "procedure_rules", root / "form_definitions"])
    for scenario in rules.scenarios:
        made_up = anonymise(rules, dict(scenario.facts))
        assert _outcome(rules, scenario.facts, scenario.as_of) == _outcome(
            rules, made_up, scenario.as_of
        ), scenario.name
        warnings = evaluate(rules, made_up, scenario.as_of).warnings
        assert not [w for w in warnings if w.code == "invalid_fact"], scenario.name
