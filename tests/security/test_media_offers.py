# ruff: noqa: F811 (the media fixtures are imported by name, then requested by name)
"""Low 11: a media offer for a case that does not exist, or is signed, opens nothing; one
process holds at most MAX_PEERS connections."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from flask import Flask

from app.extensions import db
from app.models import Case
from tests.media.conftest import (  # noqa: F401 (fixtures)
    live_server,
    loopback_ice,
    media,
    resident_cookie,
    staff_cookie,
)
from tests.media.helpers import post_offer
from tests.media.test_bad_offers import _offer


def test_an_offer_for_a_case_that_does_not_exist_is_refused(
    live_server: str, media: Any, staff_cookie: str
) -> None:
    status, body = post_offer(
        live_server, 4242, "staff", {"type": "offer", "sdp": asyncio.run(_offer())}, staff_cookie
    )
    assert status == 404, body
    assert "見つかりません" in json.loads(body)["error"]["message"]
    assert media.registry().peers == {}


def test_an_offer_on_a_signed_case_with_an_old_resident_cookie_is_refused(
    app: Flask, live_server: str, media: Any, resident_cookie: Any
) -> None:
    cookie = resident_cookie(1)
    with app.app_context():
        case = db.session.get(Case, 1)
        case.status = "signed"
        case.updated_at = datetime.now()
        db.session.commit()
    status, body = post_offer(
        live_server, 1, "resident", {"type": "offer", "sdp": asyncio.run(_offer())}, cookie
    )
    assert status == 409, body
    assert "署名済み" in json.loads(body)["error"]["message"]
    assert media.registry().peers == {}


def test_one_process_holds_at_most_max_peers(
    live_server: str, media: Any, resident_cookie: Any, monkeypatch: Any
) -> None:
    from app.media import server

    monkeypatch.setattr(server, "MAX_PEERS", 1)
    first = post_offer(
        live_server, 1, "resident", {"type": "offer", "sdp": asyncio.run(_offer())},
        resident_cookie(1),
    )  # fmt: skip
    assert first[0] == 200
    status, body = post_offer(
        live_server, 2, "resident", {"type": "offer", "sdp": asyncio.run(_offer())},
        resident_cookie(2),
    )  # fmt: skip
    assert status == 503, body
    assert "混み合っている" in json.loads(body)["error"]["message"]
    again = post_offer(  # the call already connected may reconnect
        live_server, 1, "resident", {"type": "offer", "sdp": asyncio.run(_offer())},
        resident_cookie(1),
    )  # fmt: skip
    assert again[0] == 200
