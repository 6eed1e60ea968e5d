"""Low 10: a bounded corpus of bad inputs across every route that takes input.

Each input must be answered without a 500, in Japanese (a refusal says what to do; an
accepted odd value renders the page). The count is asserted, so the corpus cannot shrink
unnoticed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from app.services.resident_sessions import start_resident_session

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

VALUES = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\u202e逆",
    "カ\u3099",  # NFD
    "𠮷野家🙂",
    "A" * 5000,
    "東" * 3000,
    "9" * 5000,
    "-1",
    "1e309",
    "NaN",
    "null",
    "[]",
    "{}",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../../../etc/passwd",
    "%00%ff",
    "\r\n\r\nX-Injected: 1",
    "9223372036854775808",
    "令和99年99月99日",
    "2026-02-30",
    "0x1F",
]

JSON_BODIES = [
    b"",
    b"{",
    b"[" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b"9" * 5000,
    b'{"facts": ' + b"9" * 5000 + b"}",
    b'"\\ud800"',
    b"\xff\xfe",
    b"null",
    b"[]",
    b'{"facts": []}',
    b'{"facts": {"household.address": {"a": [1, 2]}}}',
    b'{"facts": {"household[99999999999999999999].name": "x"}}',
    b'{"facts": {"case.events": "death"}, "as_of": "2026-13-01"}',
    b'{"facts": {}, "as_of": 20260101}',
    b'{"person": 1e400}',
    b'{"person": "0"}',
    b'{"token": ' + b'"A"' + b"}",
    b'{"type": "offer", "sdp": 5}',
    b'{"type": "offer", "sdp": "v=0\\r\\n"}',
    b'{"type": "offer", "sdp": "v=0\\r\\no=- 0 0 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\nm=audio"}',
]


def _is_japanese_answer(response: Any) -> bool:
    return bool(JAPANESE.search(response.get_data(as_text=True)))


def test_bad_inputs_get_a_japanese_answer_and_never_a_500(
    app: Flask, client: Any, login_as: Any, make_review_case: Callable[..., int]
) -> None:
    login_as("counter")
    case_url = client.post(
        "/counter/cases", data={"events": ["death", "move_in"], "channel": "counter"}
    ).headers["Location"]
    case_id = int(case_url.rstrip("/").rsplit("/", 1)[1])
    client.post(case_url + "/members", data={"roles": ["applicant", "household_head"]})
    review_case = make_review_case()
    resident = app.test_client()
    with app.app_context():
        now = datetime.now()
        sid = start_resident_session(review_case, now=now, expires_at=now + timedelta(hours=1))
    with resident.session_transaction() as session:
        session["resident_case_id"] = review_case
        session["sid"] = sid
    public = app.test_client()

    tried: list[tuple[str, str, str]] = []
    failures: list[str] = []
    counter = {"n": 0}

    def check(label: str, response: Any, value: Any) -> None:
        if response.status_code in (302, 303):
            # Staff refusals shown on the page they come back to (flash): read that page.
            response = client.get(response.headers["Location"])
        tried.append((label, repr(value)[:40], str(response.status_code)))
        if response.status_code >= 500 and response.status_code != 503:
            failures.append(f"{label} {value!r:.60}: {response.status_code}")
        elif not _is_japanese_answer(response):
            failures.append(f"{label} {value!r:.60}: {response.status_code} not Japanese")

    def address() -> dict[str, str]:
        counter["n"] += 1  # a different client each time: the rate limits are tested elsewhere
        n = counter["n"]
        return {"REMOTE_ADDR": f"198.18.{n // 250}.{n % 250 + 1}"}

    facts = {
        "household.address": "f-household-address-value",
        "household[0].name": "f-household-0-name-value",
        "household[0].name_kana": "f-household-0-name_kana-value",
        "household[0].birth_date": "f-household-0-birth_date-value",
        "household.postal_code": "f-household-postal_code-value",
        "death.date": "f-death-date-value",
    }
    for value in VALUES:
        check(
            "login",
            public.post(
                "/login", data={"username": value, "password": value}, environ_base=address()
            ),
            value,
        )
        check("join", public.post("/join", data={"code": value}, environ_base=address()), value)
        check(
            "join-token",
            public.post(f"/join/{value or 'x'}", data={"pin": value}, environ_base=address()),
            value,
        )
        check(
            "kiosk-setup",
            public.post("/kiosk/setup", data={"code": value}, environ_base=address()),
            value,
        )
        for field in (
            "name",
            "name_kana",
            "birth_date",
            "postal_code",
            "address",
            "phone",
            "event",
        ):
            good = {
                "event": "move_in",
                "name": "山田 太郎",
                "name_kana": "やまだ",
                "birth_date": "昭和22年3月2日",
            }
            check(
                f"pre-entry:{field}",
                public.post("/pre-entry", data={**good, field: value}, environ_base=address()),
                value,
            )
        check(
            "booking",
            public.post(
                "/pre-entry/booking",
                data={"event": "death", "name": value, "day": value, "slot": value},
                environ_base=address(),
            ),
            value,
        )
        for fact, name in facts.items():
            check(
                f"answer:{fact}",
                client.post(case_url + "/answer", data={"fact": fact, name: value}),
                value,
            )
        check(
            "answer:fact-id",
            client.post(case_url + "/answer", data={"fact": value, "x": value}),
            value,
        )
        check(
            "answer:revision",
            client.post(
                case_url + "/answer",
                data={
                    "fact": "household.address",
                    facts["household.address"]: "みどり市",
                    "revision": value,
                },
            ),
            value,
        )
        check("members", client.post(case_url + "/members", data={"roles": [value]}), value)
        check(
            "status", client.post(case_url + "/status", data={"to": value, "reason": value}), value
        )
        check(
            "new-case",
            client.post("/counter/cases", data={"events": [value], "channel": value}),
            value,
        )
        check(
            "booking-staff",
            client.post(
                "/counter/bookings/",
                data={"event": "death", "day": value, "slot": "10:00", "name": value},
            ),
            value,
        )
        check(
            "resident-request",
            resident.post("/r/request", data={"form": value, "field": value, "note": value}),
            value,
        )
        check(
            "resident-confirm",
            resident.post("/r/confirm", data={"form": value, "hash": value}),
            value,
        )
        check(
            "api",
            client.post(
                "/api/v1/evaluate",
                json={
                    "facts": {
                        "case.events": ["death"],
                        "death.date": value,
                        "household.address": value,
                    },
                    "as_of": value,
                },
            ),
            value,
        )
    for body in JSON_BODIES:
        headers = {"Content-Type": "application/json"}
        check("api-raw", client.post("/api/v1/evaluate", data=body, headers=headers), body)
        check("scan-raw", client.post(case_url + "/scan", data=body, headers=headers), body)
        check(
            "scan-confirm-raw",
            client.post(case_url + "/scan/confirm", data=body, headers=headers),
            body,
        )
    for path in ("/counter/cases/99999999999999999999", "/counter/cases/-1", "/counter/bookings/number/%00",
                 "/documents/preview/..%2f..%2fetc", "/documents/assets/..%2f..%2fapp%2fconfig.py",
                 f"/counter/cases/{case_id}/forms/%3Cscript%3E", "/r/events?after=" + "9" * 5000,
                 "/counter/departments/%00/", "/policy/versions/1/files/..%2f..%2fetc%2fpasswd"):  # fmt: skip
        check("path", client.get(path), path)
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} of {len(tried)})"
    assert len(tried) >= 300, len(tried)
    print(json.dumps({"bad_inputs": len(tried), "server_errors": 0}))
