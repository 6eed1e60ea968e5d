"""The role × endpoint access matrix: every registered route, every kind of caller.

A new route fails this test until it is added to EXPECTED with its audience, so nobody
ships an endpoint without deciding who may reach it.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

STAFF = ("counter", "policy", "admin")
CALLERS = ("anonymous", "resident", *STAFF)

# endpoint -> the callers that get through (anything else must be refused).
EXPECTED: dict[str, set[str]] = {
    "static": set(CALLERS),
    "auth.home": set(CALLERS),
    "auth.login": set(CALLERS),
    "auth.logout": set(STAFF),
    "counter.index": {"counter"},
    "counter.create_case": {"counter"},
    "counter.case": {"counter"},
    "counter.answer_fact": {"counter"},
    "counter.add_household_member": {"counter"},
    "counter.set_status": {"counter"},
    "counter.audit_trail": {"counter"},
    "counter.paper_signature": {"counter"},
    "counter.member_roles": {"counter"},
    "counter.assign_member_role": {"counter"},
    "counter.issue": {"counter"},
    "counter.resident_panel": {"counter"},
    "counter.resident_link": {"counter"},
    "counter.resident_kiosk": {"counter"},
    "counter.resident_review": {"counter"},
    "counter.resident_resolve": {"counter"},
    "counter.signed_packet": {"counter"},
    "counter.departments": {"counter", "admin"},
    "counter.statistics_page": {"counter", "admin"},
    "counter.statistics_csv_download": {"counter", "admin"},
    "counter.department_worklist": {"counter", "admin"},
    "counter.department_worklist_json": {"counter", "admin"},
    "counter.department_worklist_csv": {"counter", "admin"},
    "counter.routed_done": {"counter", "admin"},
    "counter.form_preview": {"counter"},
    "counter.packet": {"counter"},
    "counter.cover": {"counter"},
    "counter.scan": {"counter"},
    "counter.scan_confirm": {"counter"},
    "counter.take_still": {"counter"},
    "counter.attachment": {"counter"},
    "preentry.page": set(CALLERS),
    "preentry.booking": set(CALLERS),
    "counter.bookings": {"counter"},
    "counter.make_booking": {"counter"},
    "counter.booking_by_number": {"counter"},
    "counter.open_booked_case": {"counter"},
    "policy.index": {"policy"},
    "policy.version": {"policy"},
    "policy.new_draft": {"policy"},
    "policy.new_form": {"policy"},
    "policy.create_form": {"policy"},
    "policy.submit": {"policy"},
    "policy.approve": {"policy"},
    "policy.publish": {"policy"},
    "policy.withdraw": {"policy"},
    "policy.return_to_draft": {"policy"},
    "policy.rollback": {"policy"},
    "policy.file": {"policy"},
    "policy.save": {"policy"},
    "policy.parameter": {"policy"},
    "policy.save_parameter": {"policy"},
    "policy.procedure": {"policy"},
    "policy.save_procedure": {"policy"},
    "policy.municipality": {"policy"},
    "policy.save_municipality": {"policy"},
    "policy.form_pdf": {"policy"},
    "policy.preview_typed_template": {"policy"},
    "policy.scenario_from_case": {"policy"},
    "policy.publish_confirm": {"policy"},
    "policy.impact": {"policy"},
    "policy.compare": {"policy"},
    "policy.diff": {"policy"},
    "admin.index": {"admin"},
    "admin.create_staff": {"admin"},
    "admin.create_kiosk": {"admin"},
    "admin.kiosk_setup_code": {"admin"},
    "admin.kiosk_revoke": {"admin"},
    "resident.join": set(CALLERS),
    "resident.join_code": set(CALLERS),
    "resident.join_box": {"counter"},
    "resident.kiosk_setup": set(CALLERS),
    "resident.kiosk": set(CALLERS),
    "resident.kiosk_status": set(CALLERS),
    "resident.kiosk_join": set(CALLERS),
    "resident.case": {"resident"},
    "resident.leave": {"resident"},
    "resident.forms": {"resident"},
    "resident.events": {"resident"},
    "resident.call_state": {"resident"},
    "resident.confirm": {"resident"},
    "resident.ask_correction": {"resident"},
    "resident.sign": {"resident"},
    "resident.receipt": {"resident"},
    "resident.receipt_packet": {"resident"},
    "resident.receipt_cover": {"resident"},
    "api.evaluate": set(STAFF),
    "media.offer": {"counter", "resident"},
    "media.ice_servers": {"counter", "resident"},
    "media.quality": {"counter", "resident"},
    "documents.asset": {*STAFF, "resident"},
    "documents.preview": set(STAFF),
    # The card agent's API: public to the access guard, but every message must carry a
    # pairing code or the agent's MAC, so no session caller (staff included) gets through.
    "cardreader.api_pair": set(),
    "cardreader.api_session": set(),
    "cardreader.api_reading": set(),
    "cardreader.api_failure": set(),
    "cardreader.pairing_code": {"counter", "admin"},
    "cardreader.request_reading": {"counter"},
    "cardreader.status": {"counter"},
    "cardreader.confirm": {"counter"},
    "cardreader.reveal": {"counter"},
    "cardreader.zairyu": {"counter"},
    "cardreader.revoke": {"admin"},
}

_SAMPLE_ARGS = {"integer": 1, "unicode": "x", "path": "css/app.css", "default": "x"}


def _url_for_rule(rule) -> str:
    values = {}
    for arg in rule.arguments:
        found = rule._converters[arg]
        converter = found.__class__.__name__.lower().replace("converter", "")
        if isinstance(found, IntegerConverter):  # the app's bounded one too
            converter = "integer"
        values[arg] = _SAMPLE_ARGS.get(converter, _SAMPLE_ARGS["default"])
    return rule.build(values)[1]


def _routes(app):
    return sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint)


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = endpoints - EXPECTED.keys()
    stale = EXPECTED.keys() - endpoints
    assert not missing, f"routes without a row in the access matrix: {sorted(missing)}"
    assert not stale, f"matrix rows for routes that no longer exist: {sorted(stale)}"


def test_every_view_declares_its_audience(app):
    undeclared = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if getattr(view, "access", None) is None
    ]
    assert undeclared == []


def _resident_session(app, make_user):
    """Return a case and a factory of fresh server-side resident sessions of it."""
    from datetime import date, datetime, timedelta

    from app.services.cases import open_case
    from app.services.resident_sessions import start_resident_session

    staff = make_user("counter")
    with app.app_context():
        case_id = open_case(staff.id, ["move_out"], "remote", date.today(), datetime.now(), "t").id

    def fresh() -> str:
        with app.app_context():
            now = datetime.now()
            return start_resident_session(case_id, now=now, expires_at=now + timedelta(hours=1))

    return case_id, fresh


@pytest.mark.parametrize("caller", CALLERS)
def test_matrix(app, client, make_user, caller):
    if caller in STAFF:
        user = make_user(caller)
        client.post("/login", data={"username": user.username, "password": "correct-horse-battery"})

    resident = _resident_session(app, make_user) if caller == "resident" else None
    wrong = []
    for rule in _routes(app):
        if resident is not None:  # some views end a resident session; start each afresh
            with client.session_transaction() as session:
                session["resident_case_id"], session["sid"] = resident[0], resident[1]()
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS", "HEAD"})[0]
        if rule.endpoint == "auth.logout":
            continue  # logging out would end the session the rest of the loop relies on
        response = client.open(_url_for_rule(rule), method=method)
        refused = response.status_code in (401, 403) or (
            response.status_code == 302
            and "/login" in response.headers.get("Location", "")
            and rule.endpoint not in ("auth.home",)
        )
        response.close()
        allowed = caller in EXPECTED[rule.endpoint]
        if allowed == refused:
            wrong.append((rule.endpoint, method, response.status_code))
    assert wrong == [], f"{caller}: (endpoint, method, status) not as the matrix says"


def test_logout_needs_a_staff_login(client):
    response = client.post("/logout")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
