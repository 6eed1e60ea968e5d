"""The public pre-entry page: checked like the interview, signed into a QR, nothing stored."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import cv2
import numpy as np
import zxingcpp
from sqlalchemy import MetaData, func, select

from app.extensions import db
from app.scanning.preentry import verify_preentry

GOOD = {
    "event": "move_in",
    "name": "山田　太郎",
    "name_kana": "やまだ たろう",
    "birth_date": "昭和22年3月2日",
    "postal_code": "123-4567",
    "address": "みどり市中央1丁目2番3号",
    "phone": "090-1234-5678",
}


def _row_counts(app) -> dict[str, int]:
    with app.app_context():
        tables = MetaData()
        tables.reflect(db.engine)
        # rate_window holds when an address last submitted (the rate limit), nothing typed.
        return {
            t.name: db.session.scalar(select(func.count()).select_from(t)) or 0
            for t in tables.sorted_tables
            if t.name != "rate_window"
        }


def test_the_page_opens_without_a_login(client):
    response = client.get("/pre-entry")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "事前入力" in page and 'name="birth_date"' in page


def test_errors_show_next_to_their_field_and_keep_what_was_typed(client):
    response = client.post(
        "/pre-entry", data={**GOOD, "birth_date": "昭和99年13月1日", "phone": "12", "name": ""}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    errors = dict(re.findall(r'<p class="field-error" id="([a-z_]+)-error">([^<]+)</p>', page))
    assert set(errors) == {"name", "birth_date"} | ({"phone"} & set(errors))
    assert "生年月日" in errors["birth_date"]
    assert "氏名" in errors["name"]
    assert 'value="やまだ たろう"' in page  # typed values are kept
    assert 'value="昭和99年13月1日"' in page
    assert "<img" not in page


def test_a_missing_life_event_is_asked_for(client):
    response = client.post("/pre-entry", data={**GOOD, "event": ""})
    assert response.status_code == 400
    assert "窓口で行う手続を一覧から選んでください" in response.get_data(as_text=True)


def test_kana_that_is_not_kana_is_refused_next_to_the_field(client):
    response = client.post("/pre-entry", data={**GOOD, "name_kana": "Yamada"})
    assert response.status_code == 400
    assert 'id="name_kana-error"' in response.get_data(as_text=True)


def test_a_good_entry_gives_a_signed_qr_and_stores_nothing(app, client):
    from app.services.rules import current_ruleset

    current_ruleset(app)  # the first use of the rules seeds the first rule-set version
    before = _row_counts(app)
    response = client.post("/pre-entry", data=GOOD)
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    assert _row_counts(app) == before
    src = re.search(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert src is not None
    image = cv2.imdecode(np.frombuffer(base64.b64decode(src[1]), np.uint8), cv2.IMREAD_GRAYSCALE)
    (code,) = zxingcpp.read_barcodes(image)
    verified = verify_preentry(
        code.text, app.config["PREENTRY_KEY"].encode("utf-8"), datetime.now(UTC)
    )
    entry = verified.entry
    assert (entry.name, entry.name_kana) == ("山田 太郎", "ヤマダ タロウ")
    assert entry.birth_date.isoformat() == "1947-03-02"
    assert (entry.postal_code, entry.phone, entry.event) == ("1234567", "090-1234-5678", "move_in")
    assert (verified.expires_at - verified.issued_at).days == app.config["PREENTRY_DAYS"]
    assert "昭和22年3月2日" in page and "有効期限" in page
