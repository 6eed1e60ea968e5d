"""「様式を追加する」: a new form in a draft, copied from one the city prints, produced by a procedure."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.models import AuditEvent
from app.services.ruleset_store import create_draft, file_of, files_of, latest_published
from app.services.versions import check
from tests.policy.conftest import NOW, version
from tests.policy.test_impact_and_cli import _login

NEW = {
    "form_id": "sosaihi_kokuho_kaigai",
    "title": "国民健康保険葬祭費支給申請書（海外での葬祭）",
    "base": "sosaihi_kokuho",
    "procedure": "kokuho_sosaihi",
}


def _draft(app: Flask) -> int:
    with app.app_context():
        base = latest_published()
        assert base is not None
        return create_draft(base, actor="alice", now=NOW).id


def test_a_form_added_in_the_browser_loads_renders_and_is_produced(
    policy_app: Flask, client: FlaskClient
) -> None:
    draft_id = _draft(policy_app)
    _login(client, "alice")
    page = client.get(f"/policy/versions/{draft_id}").get_data(as_text=True)
    assert 'id="new-form-link"' in page
    answer = client.post(f"/policy/versions/{draft_id}/forms/new", data=NEW)
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/files/form_definitions/sosaihi_kokuho_kaigai.yaml")
    with policy_app.app_context():
        draft = version(draft_id)
        files = files_of(draft)
        definition = files["form_definitions/sosaihi_kokuho_kaigai.yaml"].decode("utf-8")
        assert "  id: sosaihi_kokuho_kaigai\n" in definition
        assert "  template: sosaihi_kokuho_kaigai\n" in definition
        assert NEW["title"] in definition
        css = files["pdf_templates/sosaihi_kokuho_kaigai/style.css"].decode("utf-8")
        assert ".f-sosaihi_kokuho_kaigai " in css and ".f-sosaihi_kokuho " not in css
        assert NEW["title"] in files["pdf_templates/sosaihi_kokuho_kaigai/meta.yaml"].decode()
        procedures = file_of(draft, "procedure_rules/procedures/hoken_nenkin.yaml").content.decode()
        assert "sosaihi_kokuho_kaigai" in procedures
        # the whole draft still loads, every scenario passes, every template renders its sample
        result = check(draft, policy_app.config)
        assert not result.problems, result.problems
        assert not result.failed_scenarios
        assert "sosaihi_kokuho_kaigai" in draft_ruleset_forms(draft, policy_app)
        audit = [e.action for e in AuditEvent.query.filter_by(case_id=None).all()]
        assert "ruleset_form_added" in audit
    pdf = client.get(f"/policy/versions/{draft_id}/forms/sosaihi_kokuho_kaigai/preview.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"


def draft_ruleset_forms(draft: Any, app: Flask) -> set[str]:
    """Return the form ids the draft's rule set compiles."""
    from app.services.rules import cached_ruleset

    return set(cached_ruleset(draft).forms)


def test_a_taken_or_bad_id_is_refused_in_japanese_and_what_was_typed_stays(
    policy_app: Flask, client: FlaskClient
) -> None:
    draft_id = _draft(policy_app)
    _login(client, "alice")
    taken = client.post(
        f"/policy/versions/{draft_id}/forms/new", data={**NEW, "form_id": "sosaihi_kokuho"}
    )
    assert taken.status_code == 409
    body = taken.get_data(as_text=True)
    assert "様式「sosaihi_kokuho」はもうあります" in body
    assert f'value="{NEW["title"]}"' in body
    bad = client.post(f"/policy/versions/{draft_id}/forms/new", data={**NEW, "form_id": "Kaigai"})
    assert bad.status_code == 400
    assert "様式の id「Kaigai」は使えません" in bad.get_data(as_text=True)
    with policy_app.app_context():
        assert not any("kaigai" in n.lower() for n in files_of(version(draft_id)))
