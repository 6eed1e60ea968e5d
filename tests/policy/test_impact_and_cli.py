"""The impact report on the 葬祭費 change, the diff, the CLI, and the pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from app.engine import evaluate
from app.extensions import db
from app.models import AuditEvent, StaffUser
from app.services import versions
from app.services.cases import open_case, record_fact
from app.services.impact import impact_report
from app.services.rules import ruleset_for
from app.services.ruleset_diff import diff_versions
from app.services.ruleset_store import latest_published
from app.services.ruleset_workspace import draft_ruleset
from tests.policy.conftest import NOW, version
from tests.resident.conftest import _json, scenario_facts

FROM = date(2025, 5, 12)  # the 2025-05-12 国保 death scenario is on the date


def _open_case(app: Flask, file: str, index: int, as_of: date) -> str:
    facts, _ = scenario_facts(file, index)
    with app.app_context():
        staff = db.session.query(StaffUser).filter_by(username="clerk").one()
        case = open_case(staff.id, list(facts["case.events"]), "counter", as_of, NOW, "clerk")
        for fact_id, value in facts.items():
            if fact_id != "case.events":
                record_fact(case, fact_id, _json(value), actor="clerk", now=NOW, commit=False)
        db.session.commit()
        return case.number


def test_the_impact_report_lists_exactly_the_scenarios_and_cases_the_amount_change_touches(
    policy_app: Flask, amount_draft: Callable[..., int]
) -> None:
    before = _open_case(policy_app, "death.yaml", 1, date(2025, 5, 11))  # 国保, the day before
    after = _open_case(policy_app, "death.yaml", 1, FROM)  # 国保, on the date
    _open_case(policy_app, "death.yaml", 0, date(2025, 6, 1))  # 後期高齢者医療: another 葬祭費
    _open_case(policy_app, "move_out.yaml", 1, date(2025, 6, 1))
    draft_id = amount_draft(70000, FROM)
    with policy_app.app_context():
        draft = draft_ruleset(version(draft_id), policy_app.config)
        base = ruleset_for(policy_app, FROM)
        # Independently: the scenarios whose 国保 葬祭費 form exists on a date from FROM on.
        expected = {
            s.name
            for s in base.scenarios
            if s.as_of >= FROM and evaluate(base, dict(s.facts), s.as_of).form("sosaihi_kokuho")
        }
        assert expected
        report = impact_report(policy_app, draft, cases=500, actor="bob", now=NOW, version_name="x")
        assert {i.label for i in report.scenario_items} == expected
        assert [i.label for i in report.case_items] == [after]
        assert before not in {i.label for i in report.items}
        assert report.scenarios_checked == len(base.scenarios) and report.cases_checked == 4
        for item in report.items:
            assert {c.procedure for c in item.changes} == {"kokuho_sosaihi"}
            assert {c.kind for c in item.changes} == {"field"}
        assert report.per_procedure == {"kokuho_sosaihi": len(expected) + 1}
        shown = [c for i in report.scenario_items for c in i.changes]
        assert {(c.before, c.after) for c in shown} == {("50,000円", "70,000円")}
        # Real cases: only their number and what changed, never a value.
        assert all(not c.before and not c.after for c in report.case_items[0].changes)
        read = db.session.query(AuditEvent).filter_by(action="ruleset_impact_cases_read").one()
        assert read.actor == "bob" and after in read.detail["cases"]


def test_the_diff_names_the_changed_parameter_and_shows_the_line(
    policy_app: Flask, amount_draft: Callable[..., int]
) -> None:
    draft_id = amount_draft(70000, date(2027, 4, 1))
    with policy_app.app_context():
        (change,) = diff_versions(latest_published(), version(draft_id))
        assert change.name == "procedure_rules/parameters.yaml" and change.label == "変更"
        assert change.changed_ids == ("parameters:sosaihi_kokuho",)
        assert "+      - {valid_from: 2027-04-01, value: 70000}" in change.lines


def test_cli_versions_json_lists_every_field(
    policy_app: Flask, amount_draft: Callable[..., int]
) -> None:
    amount_draft()
    out = policy_app.test_cli_runner().invoke(args=["rules", "versions", "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [r["status"] for r in rows] == ["draft", "published"]
    for key in (
        "id",
        "status",
        "effective_from",
        "created_by",
        "approved_by",
        "published_by",
        "published_at",
        "note",
    ):
        assert all(key in r for r in rows)
    assert rows[1]["created_by"] == "system" and rows[0]["created_by"] == "alice"


def test_cli_export_then_import_makes_a_draft_and_diff_shows_it(
    policy_app: Flask, tmp_path: Path
) -> None:
    runner = policy_app.test_cli_runner()
    assert runner.invoke(args=["rules", "export", "1", str(tmp_path)]).exit_code == 0
    params = tmp_path / "procedure_rules" / "parameters.yaml"
    params.write_text(params.read_text("utf-8").replace("value: 420000", "value: 430000"), "utf-8")
    out = runner.invoke(args=["rules", "import", str(tmp_path), "--note", "出産育児一時金"])
    assert out.exit_code == 0 and "as draft" in out.output, out.output
    diff = runner.invoke(args=["rules", "diff", "1", "2"])
    assert (
        "parameters:shussan_ikuji" in diff.output
        and "+      - {valid_from: 2009-10-01, value: 430000}" in diff.output
    )


def test_cli_publish_is_refused_unless_approved_or_approved_by_another_policy_user(
    policy_app: Flask, amount_draft: Callable[..., int]
) -> None:
    draft_id = amount_draft()
    runner = policy_app.test_cli_runner()
    args = ["rules", "publish", str(draft_id), "--effective-from", "2027-04-01"]
    refused = runner.invoke(args=args)
    assert refused.exit_code != 0 and "承認済みの版だけです" in refused.output
    assert "Traceback" not in refused.output
    self_ok = runner.invoke(args=[*args, "--approved-by", "alice", "--actor", "bob"])
    assert self_ok.exit_code != 0 and "認められません" in self_ok.output
    ok = runner.invoke(args=[*args, "--approved-by", "bob", "--actor", "carol-ops"])
    assert ok.exit_code == 0, ok.output
    with policy_app.app_context():
        published = version(draft_id)
        assert (published.status, published.approved_by) == ("published", "bob")
        assert (
            db.session.query(AuditEvent).filter_by(action="ruleset_emergency_approval").count() == 1
        )


def _login(client: FlaskClient, username: str) -> None:
    from tests.conftest import PASSWORD

    assert (
        client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    )


def test_the_editor_answers_a_conflict_with_409_and_keeps_what_was_typed(
    policy_app: Flask, client: FlaskClient, amount_draft: Callable[..., int]
) -> None:
    draft_id = amount_draft()
    _login(client, "alice")
    url = f"/policy/versions/{draft_id}/files/procedure_rules/parameters.yaml"
    page = client.get(url).get_data(as_text=True)
    assert 'name="revision" value="2"' in page and 'data-editor="yaml"' in page
    first = client.post(url, data={"text": "parameters: []\n# one\n", "revision": "2"})
    assert first.status_code == 302
    second = client.post(url, data={"text": "parameters: []\n# two typed\n", "revision": "2"})
    assert second.status_code == 409
    body = second.get_data(as_text=True)
    assert "上書きはしませんでした" in body and "# two typed" in body


def test_saving_shows_each_problem_at_its_line_and_column(
    policy_app: Flask, client: FlaskClient, amount_draft: Callable[..., int]
) -> None:
    draft_id = amount_draft()
    _login(client, "alice")
    url = f"/policy/versions/{draft_id}/files/procedure_rules/events.yaml"
    page = client.get(url).get_data(as_text=True)
    assert "下書き全体に問題はありません" in page
    import re

    revision = re.search(r'name="revision" value="(\d+)"', page)[1]
    text = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.S)[1]
    import html

    broken = html.unescape(text) + "\n  - id: [\n"
    saved = client.post(url, data={"text": broken, "revision": revision}, follow_redirects=True)
    body = saved.get_data(as_text=True)
    assert "このファイルの問題" in body and re.search(r"\d+行 \d+列", body)
    assert "/tmp" not in body


def test_the_case_page_shows_the_version_used(policy_app: Flask, client: FlaskClient) -> None:
    number = _open_case(policy_app, "death.yaml", 1, date(2025, 5, 12))
    with policy_app.app_context():
        from app.models import Case

        case_id = db.session.query(Case).filter_by(number=number).one().id
        name = latest_published().name
    _login(client, "clerk")
    page = client.get(f"/counter/cases/{case_id}").get_data(as_text=True)
    assert f"ルール版: {name}" in page


def test_the_versions_page_shows_the_timeline_and_who_did_what(
    policy_app: Flask, client: FlaskClient, amount_draft: Callable[..., int]
) -> None:
    draft_id = amount_draft()
    with policy_app.app_context():
        versions.submit(
            version(draft_id),
            note="葬祭費の改定",
            effective_from=date(2027, 4, 1),
            actor="alice",
            now=NOW,
            config=policy_app.config,
        )
    _login(client, "bob")
    page = client.get("/policy/").get_data(as_text=True)
    assert "適用期間" in page and "承認待ち" in page and "葬祭費の改定" in page
    approve = client.post(f"/policy/versions/{draft_id}/approve", follow_redirects=True)
    assert "承認しました" in approve.get_data(as_text=True)


def test_a_refused_amount_keeps_the_typed_rows_and_says_why_in_japanese(
    policy_app: Flask, client: FlaskClient, amount_draft: Callable[..., int]
) -> None:
    draft_id = amount_draft()
    _login(client, "alice")
    url = f"/policy/versions/{draft_id}/parameters/sosaihi_kokuho"
    page = client.get(url).get_data(as_text=True)
    assert 'value="2027-04-01"' in page and 'value="70000"' in page
    refused = client.post(
        url,
        data={
            "revision": "2",
            "valid_from": ["2008-04-01", "2028-04-01"],
            "value": ["50000", "八万円"],
        },
    )
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "2 行目の値「八万円」が数字ではありません" in body and 'value="八万円"' in body
    with policy_app.app_context():
        from app.services.ruleset_params import parameter

        assert [v.value for v in parameter(version(draft_id), "sosaihi_kokuho").values] == [
            50000,
            70000,
        ]


def test_a_real_case_chosen_by_number_is_compared_audited_and_shows_no_personal_data(
    policy_app: Flask, client: FlaskClient, amount_draft: Callable[..., int]
) -> None:
    number = _open_case(policy_app, "death.yaml", 1, FROM)
    draft_id = amount_draft(70000, FROM)
    _login(client, "bob")
    page = client.get(f"/policy/versions/{draft_id}/compare", query_string={"case": number})
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"案件 {number}（申請日 {FROM.isoformat()}）" in body
    assert "国民健康保険 葬祭費の支給申請" in body  # the procedures under both versions
    assert "記入値が変わる" in body  # the amount differs; its value is not shown for a case
    facts, _ = scenario_facts("death.yaml", 1)
    names = [v for k, v in facts.items() if k.endswith(".name")]
    assert names and not any(name in body for name in names)
    assert "50,000円" not in body and "70,000円" not in body
    with policy_app.app_context():
        from app.models import Case

        case = db.session.query(Case).filter_by(number=number).one()
        read = db.session.query(AuditEvent).filter_by(action="ruleset_case_compared").one()
        assert (read.case_id, read.actor) == (case.id, "bob")
    missing = client.get(
        f"/policy/versions/{draft_id}/compare",
        query_string={"case": "2099-999999"},
        follow_redirects=True,
    )
    assert "受付番号「2099-999999」の案件はありません。" in missing.get_data(as_text=True)


def test_publishing_shows_the_impact_once_more(
    policy_app: Flask, client: FlaskClient, amount_draft: Callable[..., int]
) -> None:
    draft_id = amount_draft(70000, date(2027, 4, 1))
    _login(client, "alice")
    early = client.get(f"/policy/versions/{draft_id}/publish", follow_redirects=True)
    assert "公開できません" in early.get_data(as_text=True)
    with policy_app.app_context():
        versions.submit(
            version(draft_id),
            note="葬祭費の改定",
            effective_from=date(2027, 4, 1),
            actor="alice",
            now=NOW,
            config=policy_app.config,
        )
        versions.approve(version(draft_id), actor="bob", now=NOW, config=policy_app.config)
    _login(client, "bob")
    assert 'id="publish-link"' in client.get(f"/policy/versions/{draft_id}").get_data(as_text=True)
    page = client.get(f"/policy/versions/{draft_id}/publish").get_data(as_text=True)
    assert "2027-04-01 以後" in page and 'id="impact-summary"' in page
    assert 'id="publish-form"' in page
    with policy_app.app_context():
        assert version(draft_id).status == "approved"  # looking publishes nothing
    done = client.post(f"/policy/versions/{draft_id}/publish", follow_redirects=True)
    assert "公開しました" in done.get_data(as_text=True)
