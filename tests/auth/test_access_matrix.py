"""The role × endpoint access matrix: every registered route, every kind of caller.

A new route fails this test until it is added to EXPECTED with its audience, so nobody
ships an endpoint without deciding who may reach it.
"""

from __future__ import annotations

import pytest

STAFF = ("counter", "policy", "admin")
CALLERS = ("anonymous", "resident", *STAFF)

# endpoint -> the callers that get through (anything else must be refused).
EXPECTED: dict[str, set[str]] = {
    "static": set(CALLERS),
    "auth.home": set(CALLERS),
    "auth.login": set(CALLERS),
    "auth.logout": set(STAFF),
    "counter.index": {"counter"},
    "policy.index": {"policy"},
    "admin.index": {"admin"},
    "media.offer": {"counter", "resident"},
}

_SAMPLE_ARGS = {"int": 1, "integer": 1, "string": "x", "path": "css/app.css", "default": "x"}


def _url_for_rule(rule) -> str:
    url = rule.rule
    for arg in rule.arguments:
        converter = rule._converters[arg].__class__.__name__.lower().replace("converter", "")
        value = _SAMPLE_ARGS.get(converter, _SAMPLE_ARGS["default"])
        url = url.replace(f"<{arg}>", str(value))
        for name in ("int", "string", "path"):
            url = url.replace(f"<{name}:{arg}>", str(value))
    return url


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


@pytest.mark.parametrize("caller", CALLERS)
def test_matrix(app, client, make_user, caller):
    if caller in STAFF:
        user = make_user(caller)
        client.post("/login", data={"username": user.username, "password": "correct-horse-battery"})
    elif caller == "resident":
        with client.session_transaction() as session:
            session["resident_case_id"] = 1

    wrong = []
    for rule in _routes(app):
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
