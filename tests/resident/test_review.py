"""The resident's review: live forms, confirmations, correction requests, signing, receipt."""

from __future__ import annotations

import base64
import io
import time
from datetime import datetime

import pikepdf
import pytest
from sqlalchemy import select

from app.documents import verify_pdf
from app.extensions import db
from app.models import AuditEvent, JoinLink, Kiosk, SignedPacket
from app.services.cases import record_fact
from app.services.interview import evaluate_stored
from app.services.joining import attach_kiosk, issue_join_link, register_kiosk
from app.services.review import confirm_form, live_broker, shown_forms
from app.services.rules import current_ruleset
from app.services.signing import SigningError, clean_signature, sign_case, signed_packet_pdf
from tests.resident.conftest import case_of, signature_png
from tests.services.test_live import redis_url  # noqa: F401  (fixture: a real redis-server)


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _confirm_all(client) -> dict:
    state = client.get("/r/forms").get_json()
    for form in state["forms"]:
        response = client.post("/r/confirm", data={"form": form["key"], "hash": form["hash"]})
        assert response.status_code == 200, response.get_json()
        state = response.get_json()
    return state


def signature_images(pdf: bytes, png: bytes) -> int:
    """Count the image XObjects of a PDF with the size of the (cropped) drawn signature.

    The footer QR codes are images too; the signature is told apart by its size.
    """
    from PIL import Image

    with Image.open(io.BytesIO(clean_signature(png))) as image:
        size = image.size
    count = 0
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            for image in page.get_images().values():
                if (int(image.get("/Width")), int(image.get("/Height"))) == size:
                    count += 1
    return count


# ---- the signature ------------------------------------------------------------------------


def test_an_empty_or_tiny_signature_is_refused_in_japanese():
    for png in (signature_png(ink=False), _white_with_a_dot()):
        with pytest.raises(SigningError) as raised:
            clean_signature(png)
        assert raised.value.code == "empty" and "署名が書かれていません" in raised.value.message
    assert clean_signature(signature_png()).startswith(b"\x89PNG")


def _white_with_a_dot() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 200), "white")
    ImageDraw.Draw(image).ellipse((100, 100, 104, 104), fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_not_an_image_is_refused():
    with pytest.raises(SigningError) as raised:
        clean_signature(b"not a png at all")
    assert raised.value.code == "bad_image"


# ---- the resident's screen ----------------------------------------------------------------


def test_the_case_page_shows_the_forms_as_the_pdf_templates_render_them(
    client, join_case, make_review_case
):
    case_id = make_review_case()
    join_case(case_id)
    page = client.get("/r/").get_data(as_text=True)
    assert "国民健康保険被保険者資格喪失届" in page or "kokuho" in page
    assert "/documents/assets/_shared/base.css" in page
    assert "<ruby>" in page and 'class="en"' in page  # furigana and the English toggle text
    assert "<script>" not in page  # the CSP allows only script files


def test_a_committed_fact_change_is_published_on_the_case_channel(app, make_review_case):
    case_id = make_review_case()
    with app.app_context():
        broker = live_broker()
        before = broker.latest(f"case:{case_id}")
        record_fact(
            case_of(case_id), "household[0].phone", "090-0000-1111", actor="c", now=datetime.now()
        )
        events = broker.wait(f"case:{case_id}", before, timeout=1)
    assert [e for _, e in events] == [{"type": "forms", "facts": ["household[0].phone"]}]


def test_the_event_stream_catches_up_from_last_event_id(app, client, join_case, make_review_case):
    case_id = make_review_case()
    join_case(case_id)
    with app.app_context():
        broker = live_broker()
        first = broker.publish(f"case:{case_id}", {"type": "forms", "facts": ["a"]})
        broker.publish(f"case:{case_id}", {"type": "forms", "facts": ["b"]})
    response = client.get("/r/events", headers={"Last-Event-ID": str(first)}, buffered=False)
    assert response.mimetype == "text/event-stream"
    chunks = response.response
    text = ""
    for chunk in chunks:
        text += chunk.decode() if isinstance(chunk, bytes) else chunk
        if '"b"' in text:
            break
    response.close()
    assert '"a"' not in text and f"id: {first + 1}" in text and "event: forms" in text


def test_confirmation_is_for_the_content_seen(app, client, join_case, make_review_case):
    case_id = make_review_case()
    join_case(case_id)
    state = client.get("/r/forms").get_json()
    form = state["forms"][0]
    stale = client.post("/r/confirm", data={"form": form["key"], "hash": "0" * 64})
    assert stale.status_code == 409 and "変更しました" in stale.get_json()["error"]
    assert client.post("/r/confirm", data={"form": form["key"], "hash": form["hash"]}).get_json()[
        "forms"
    ][0]["confirmed"]
    with app.app_context():  # staff change a value of that form: it must be confirmed again
        record_fact(
            case_of(case_id), "household[0].name", "転出 次郎", actor="c", now=datetime.now()
        )
    again = client.get("/r/forms").get_json()
    changed = next(f for f in again["forms"] if f["key"] == form["key"])
    assert changed["hash"] != form["hash"] and not changed["confirmed"]


def test_a_correction_request_is_stored_encrypted_audited_and_shown_to_staff(
    app, client, join_case, make_review_case, login_as
):
    case_id = make_review_case()
    join_case(case_id)
    key = client.get("/r/forms").get_json()["forms"][0]["key"]
    assert client.post("/r/request", data={"form": key, "note": " "}).status_code == 422
    response = client.post(
        "/r/request", data={"form": key, "field": "電話番号", "note": "番号が1桁違います"}
    )
    assert response.get_json() == {"ok": True}
    with app.app_context():
        from app.models import ResidentRequest

        row = db.session.scalar(select(ResidentRequest))
        assert "番号が1桁違います" not in row.note_enc
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "correction_requested")
        )
    login_as("counter")
    panel = client.get(f"/counter/cases/{case_id}/resident").get_data(as_text=True)
    assert "番号が1桁違います" in panel and "電話番号" in panel


def test_signing_needs_every_form_confirmed(client, join_case, make_review_case):
    case_id = make_review_case()
    join_case(case_id)
    response = client.post("/r/sign", data={"signature": _data_url(signature_png())})
    assert response.status_code == 422 and "確認が済んでいない書類" in response.get_json()["error"]


def test_an_empty_signature_is_refused_by_the_endpoint(client, join_case, make_review_case):
    case_id = make_review_case()
    join_case(case_id)
    _confirm_all(client)
    response = client.post("/r/sign", data={"signature": _data_url(signature_png(ink=False))})
    assert response.status_code == 422 and "署名が書かれていません" in response.get_json()["error"]


def test_signing_seals_the_packet_closes_the_case_and_keeps_only_the_receipt(
    app, client, join_case, make_review_case, monkeypatch
):
    case_id = make_review_case()
    with app.app_context():
        link = issue_join_link(case_of(case_id), actor="c", now=datetime.now(), minutes=30)
        kiosk, _token = register_kiosk("北支所", actor="a", now=datetime.now())
        attach_kiosk(kiosk, case_of(case_id), actor="c", now=datetime.now())
    join_case(case_id)
    _confirm_all(client)
    response = client.post("/r/sign", data={"signature": _data_url(signature_png())})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["receipt"] == "/r/receipt"

    with app.app_context():
        case = case_of(case_id)
        assert case.status == "signed" and case.signature_mode == "electronic"
        stored = db.session.scalar(select(SignedPacket))
        assert b"%PDF" not in stored.pdf_enc  # encrypted at rest
        assert db.session.scalar(select(JoinLink)).revoked
        assert db.session.scalar(select(Kiosk)).attached_case_id is None
        instance = app.instance_path
    # The case page, its events and the other endpoints are gone; the receipt works.
    assert client.get("/r/").status_code == 410
    assert client.get("/r/events").status_code == 410
    assert client.get("/r/forms").status_code == 410
    assert client.post("/r/confirm", data={"form": "x", "hash": "y"}).status_code == 410
    joined_again = client.get(f"/join/{link.token}")  # revoked, and says why
    assert joined_again.status_code == 410 and "署名が済んだ" in joined_again.get_data(as_text=True)
    assert "署名が済みました" in client.get("/r/receipt").get_data(as_text=True)
    packet = client.get("/r/receipt/packet.pdf")
    assert packet.status_code == 200 and packet.mimetype == "application/pdf"
    verdict = verify_pdf(packet.data, instance)
    assert verdict.valid, verdict.reason
    # The drawn signature is in the packet: once in each of the 3 forms' signature boxes.
    assert signature_images(packet.data, signature_png()) >= 3
    altered = bytearray(packet.data)
    middle = len(altered) // 2
    altered[middle] = (altered[middle] + 1) % 256
    assert not verify_pdf(bytes(altered), instance).valid
    cover = client.get("/r/receipt/cover.pdf")
    assert cover.status_code == 200 and cover.data.startswith(b"%PDF")

    # Thirty minutes later the receipt is gone too.
    later = time.time() + 31 * 60
    monkeypatch.setattr("app.resident.views.time.time", lambda: later)
    assert client.get("/r/receipt/packet.pdf").status_code == 410
    assert client.get("/r/receipt").status_code == 403  # and the session has ended


def test_staff_download_the_sealed_packet(app, client, join_case, make_review_case, login_as):
    case_id = make_review_case()
    join_case(case_id)
    _confirm_all(client)
    assert client.post("/r/sign", data={"signature": _data_url(signature_png())}).status_code == 200
    login_as("counter")
    response = client.get(f"/counter/cases/{case_id}/signed-packet.pdf")
    assert response.status_code == 200
    assert verify_pdf(response.data, app.instance_path).valid
    assert "署名・封印済みの書類一式" in client.get(f"/counter/cases/{case_id}").get_data(
        as_text=True
    )


def test_flask_documents_verify_accepts_the_signed_packet(app, make_review_case, runner, tmp_path):
    case_id = make_review_case()
    with app.app_context():
        ruleset = current_ruleset(app)
        case = case_of(case_id)
        result = evaluate_stored(ruleset, case)
        for form in shown_forms(ruleset, case, result):
            confirm_form(ruleset, case, result, form.key, form.document_hash, now=datetime.now())
        sign_case(ruleset, case, result, signature_png(), now=datetime.now())
        pdf = signed_packet_pdf(case_id)
    target = tmp_path / "signed.pdf"
    target.write_bytes(pdf)
    outcome = runner.invoke(args=["documents", "verify", str(target)])
    assert outcome.exit_code == 0 and "valid" in outcome.output


def test_a_resident_session_cannot_reach_another_case(client, join_case, make_review_case):
    mine = make_review_case()
    other = make_review_case()
    join_case(mine)
    key = client.get("/r/forms").get_json()["forms"][0]["key"]
    # Every resident endpoint acts on the session's one case; there is no case id to swap.
    client.post("/r/request", data={"form": key, "note": "違います"})
    from app.models import ResidentRequest

    with client.application.app_context():
        rows = db.session.scalars(select(ResidentRequest)).all()
        assert [r.case_id for r in rows] == [mine]
    assert client.get(f"/counter/cases/{other}").status_code == 302  # staff page: to login
    assert client.get(f"/counter/cases/{other}/resident").status_code == 302


def test_after_a_paper_signature_the_resident_page_says_signing_is_on_paper(
    app, client, join_case, make_review_case
):
    case_id = make_review_case()
    join_case(case_id)
    from app.services.cases import record_paper_signature

    with app.app_context():
        record_paper_signature(case_of(case_id), actor="c", now=datetime.now())
    response = client.get("/r/")
    assert response.status_code == 410 and "紙の書類" in response.get_data(as_text=True)


def test_staff_issue_a_link_and_pin_to_read_out(app, client, make_review_case, login_as):
    case_id = make_review_case(review=False)
    login_as("counter")
    page = client.post(f"/counter/cases/{case_id}/resident/link").get_data(as_text=True)
    assert "/join/" in page and "暗証番号" in page
    response = client.post(f"/counter/cases/{case_id}/resident/review")
    assert response.status_code == 302
    with app.app_context():
        assert case_of(case_id).status == "review"


def test_staff_attach_and_detach_a_kiosk_and_resolve_a_request(
    app, client, join_case, make_review_case, login_as
):
    case_id = make_review_case()
    with app.app_context():
        kiosk, _token = register_kiosk("南支所 2番", actor="a", now=datetime.now())
        kiosk_id = kiosk.id
    join_case(case_id)
    key = client.get("/r/forms").get_json()["forms"][0]["key"]
    client.post("/r/request", data={"form": key, "note": "住所の番地が違います"})
    login_as("counter")
    box = client.get(f"/counter/cases/{case_id}/resident").get_data(as_text=True)
    assert "南支所 2番" in box and "住所の番地が違います" in box and "対応済みにする" in box

    client.post(f"/counter/cases/{case_id}/resident/kiosk", data={"kiosk": str(kiosk_id)})
    with app.app_context():
        assert db.session.get(Kiosk, kiosk_id).attached_case_id == case_id
    client.post(f"/counter/cases/{case_id}/resident/kiosk", data={"kiosk": "detach"})
    with app.app_context():
        assert db.session.get(Kiosk, kiosk_id).attached_case_id is None
        from app.models import ResidentRequest

        request_id = db.session.scalar(select(ResidentRequest.id))
    client.post(f"/counter/cases/{case_id}/resident/requests/{request_id}/resolve")
    box = client.get(f"/counter/cases/{case_id}/resident").get_data(as_text=True)
    assert "対応済み（" in box and "対応済みにする" not in box


def test_the_staff_box_answers_204_until_something_happens(
    app, client, join_case, make_review_case, login_as
):
    case_id = make_review_case()
    with app.app_context():
        latest = live_broker().latest(f"case:{case_id}")
    login_as("counter")
    assert client.get(f"/counter/cases/{case_id}/resident?after={latest}").status_code == 204
    with app.app_context():
        record_fact(
            case_of(case_id), "household[0].phone", "03-1111-2222", actor="c", now=datetime.now()
        )
    assert client.get(f"/counter/cases/{case_id}/resident?after={latest}").status_code == 200


@pytest.fixture
def redis_app(request, monkeypatch):
    """The app with REDIS_URL set (a real redis-server, as in tests/services/test_live.py)."""
    monkeypatch.setenv("REDIS_URL", request.getfixturevalue("redis_url"))
    application = request.getfixturevalue("app")
    yield application
    application.extensions["live_broker"].close()


def test_with_redis_url_the_fact_changes_go_through_redis(redis_app, make_review_case):
    from app.services.live import RedisBroker

    case_id = make_review_case()
    with redis_app.app_context():
        broker = live_broker()
        assert isinstance(broker, RedisBroker)
        before = broker.latest(f"case:{case_id}")
        record_fact(
            case_of(case_id), "household[0].phone", "03-2222-3333", actor="c", now=datetime.now()
        )
        events = broker.wait(f"case:{case_id}", before, timeout=2)
    assert [e for _, e in events] == [{"type": "forms", "facts": ["household[0].phone"]}]


def test_two_signatures_at_once_sign_once_and_the_other_is_told_so(
    app, client, join_case, make_review_case, monkeypatch
):
    """Issue 18 Low 10: parallel signing (a double tap, two tabs) ended in a 500."""
    import threading

    from app.models import SignedPacket
    from app.services import signing

    # Both requests are past the status check and rendering at the same time: the race.
    rendering = threading.Barrier(2, timeout=20)
    real = signing.sealed_packet

    def both_rendering(*args, **kwargs):
        rendering.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(signing, "sealed_packet", both_rendering)

    case_id = make_review_case()
    join_case(case_id)
    _confirm_all(client)
    second = app.test_client()
    name = app.config["SESSION_COOKIE_NAME"]
    second.set_cookie(name, client.get_cookie(name).value)
    barrier = threading.Barrier(2)
    answers: list = []

    def sign(who) -> None:
        barrier.wait()
        answers.append(who.post("/r/sign", data={"signature": _data_url(signature_png())}))

    threads = [threading.Thread(target=sign, args=(c,)) for c in (client, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in answers)
    assert 500 not in statuses and statuses[0] == 200, statuses
    refused = [r for r in answers if r.status_code != 200]
    for response in refused:
        assert response.status_code in (409, 410, 422, 503)
        message = response.get_data(as_text=True)  # a JSON error or the page, in Japanese
        assert "署名" in message or "保存されませんでした" in message
    with app.app_context():
        assert db.session.query(SignedPacket).filter_by(case_id=case_id).count() == 1
