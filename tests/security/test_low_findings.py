"""Low 12: stylesheet assets stay inside pdf_templates/, a cross-site receipt link does not log
the resident out, retention covers every final state, a scan token cannot be replayed (the
database, instance folder and seal key: test_private_files.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask


def test_an_asset_symlink_out_of_the_templates_is_not_served(
    app: Flask, client: Any, login_as: Any, tmp_path: Path
) -> None:
    from app.documents import documents

    secret = tmp_path / "secret.css"
    secret.write_text("body { --secret: 1 }", encoding="utf-8")
    root = tmp_path / "templates"
    root.mkdir()
    (root / "real.css").write_text("body {}", encoding="utf-8")
    (root / "leak.css").symlink_to(secret)
    login_as("counter")
    with app.app_context():
        docs = documents()
        old_root, docs.root = docs.root, root
    try:
        real = client.get("/documents/assets/real.css")
        assert real.status_code == 200
        real.close()
        leaked = client.get("/documents/assets/leak.css")
        assert leaked.status_code == 404
        assert "--secret" not in leaked.get_data(as_text=True)
    finally:
        docs.root = old_root


def test_a_receipt_link_from_another_site_does_not_log_the_resident_out(
    app: Flask, make_review_case: Any
) -> None:
    from datetime import datetime, timedelta

    from app.services.resident_sessions import start_resident_session

    case_id = make_review_case()
    with app.app_context():
        now = datetime.now()
        sid = start_resident_session(case_id, now=now, expires_at=now + timedelta(hours=1))
    resident = app.test_client()
    with resident.session_transaction() as session:
        session["resident_case_id"] = case_id
        session["sid"] = sid
    assert resident.get("/r/", headers={"Referer": "https://evil.example/"}).status_code == 200
    assert (
        resident.get("/r/receipt", headers={"Referer": "https://evil.example/"}).status_code == 410
    )
    assert resident.get("/r/").status_code == 200  # still in the case


@pytest.mark.parametrize("status", ["signed", "issued"])
def test_retention_applies_to_signed_and_issued_cases(
    app: Flask, make_user: Any, status: str
) -> None:
    from datetime import date, datetime, timedelta

    from app.extensions import db
    from app.models import Case
    from app.services.cases import open_case, record_fact
    from app.services.retention import expired_cases

    staff = make_user("counter")
    with app.app_context():
        now = datetime.now()
        old = open_case(staff.id, ["death"], "counter", date.today(), now, "c")
        record_fact(old, "death.place", "自宅", actor="c", now=now)
        fresh = open_case(staff.id, ["death"], "counter", date.today(), now, "c")
        for case, days in ((old, 91), (fresh, 10)):
            case.status = status
            case.updated_at = now - timedelta(days=days)
        db.session.commit()
        expired = [c.id for c in expired_cases(now, days=90)]
        assert expired == [old.id]
        assert db.session.get(Case, fresh.id).purged_at is None


def test_a_scan_confirmation_cannot_be_replayed_to_undo_a_later_edit(
    app: Flask, make_user: Any
) -> None:
    from datetime import date, datetime

    import pytest as _pytest

    from app.extensions import db
    from app.models import Case
    from app.scanning.classify import ScanResult
    from app.services.cases import CaseError, open_case, record_fact, stored_facts
    from app.services.rules import current_ruleset
    from app.services.scan_intake import confirm_scan, pending_token

    staff = make_user("counter")
    with app.app_context():
        case = open_case(staff.id, ["move_in"], "counter", date.today(), datetime.now(), "c")
        scanned = ScanResult(
            kind="pre_entry",  # type: ignore[arg-type]
            symbology="QRCode",
            display="",
            facts={"household.address": "みどり市中央1丁目"},
            provenance="pre_entry",
        )
        token = pending_token(case, scanned)
        rules = current_ruleset(app)
        confirm_scan(rules, case, token, actor="c", now=datetime.now())
        record_fact(case, "household.address", "みどり市東町2丁目", actor="c", now=datetime.now())
        with _pytest.raises(CaseError) as replayed:
            confirm_scan(rules, case, token, actor="c", now=datetime.now())
        assert (
            replayed.value.code == "scan_stale" and "何も保存していません" in replayed.value.message
        )
        facts = stored_facts(db.session.get(Case, case.id))
        assert facts["household.address"].value == "みどり市東町2丁目"  # the later edit stands
