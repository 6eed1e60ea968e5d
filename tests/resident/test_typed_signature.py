"""The keyboard alternative to drawing: a typed name, set as the signature and recorded so."""

from __future__ import annotations

import io

import pikepdf
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.services.signing import TYPED_MARK, clean_signature, signed_packet_pdf, typed_signature


def _confirm_all(client) -> None:
    for form in client.get("/r/forms").get_json()["forms"]:
        response = client.post("/r/confirm", data={"form": form["key"], "hash": form["hash"]})
        assert response.status_code == 200


def test_typed_name_signs_every_form_and_is_recorded_as_typed(
    app, client, make_review_case, join_case
):
    case_id = make_review_case()
    join_case(case_id)
    _confirm_all(client)
    response = client.post("/r/sign", data={"typed_name": "  杉本　浩二 "})
    assert response.status_code == 200, response.get_json()
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.case_id == case_id, AuditEvent.action == "signed_electronically"
            )
        )
        assert event.detail["method"] == "typed_name"
        pdf = signed_packet_pdf(case_id)
    png = clean_signature(typed_signature("杉本 浩二"))
    with Image.open(io.BytesIO(png)) as image:
        size = image.size
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        sizes = [
            (int(i.get("/Width")), int(i.get("/Height")))
            for page in doc.pages
            for i in page.get_images().values()
        ]
    assert sizes.count(size) >= 3  # the typed signature is in every form's box


def test_an_empty_typed_name_is_refused_with_what_to_do(app, client, make_review_case, join_case):
    join_case(make_review_case())
    _confirm_all(client)
    response = client.post("/r/sign", data={"typed_name": "   "})
    assert response.status_code == 422
    assert response.get_json()["code"] == "no_name"
    assert "お名前を入力" in response.get_json()["error"]


def test_the_typed_signature_says_it_was_typed():
    with Image.open(io.BytesIO(typed_signature("山田 花子"))) as image:
        assert image.width > 2 * image.height  # a wide strip like a drawn name
    assert "入力" in TYPED_MARK
