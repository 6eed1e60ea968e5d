"""The on-screen preview uses the PDF's own template and stylesheets, behind the login."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.documents.views import bp


@pytest.fixture
def documents_app(app: Flask) -> Flask:
    if "documents" not in app.blueprints:  # until app/web.py registers it
        app.register_blueprint(bp)
    return app


def test_staff_preview_shows_the_sample_with_the_pdf_stylesheets(
    documents_app: Flask, client: FlaskClient, login_as: Any
) -> None:
    login_as("policy")
    page = client.get("/documents/preview/kaso_kyoka")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "火葬許可申請書" in html and "髙橋" in html
    assert "/documents/assets/kaso_kyoka/style.css" in html
    with client.get("/documents/assets/kaso_kyoka/style.css") as css:
        assert css.status_code == 200 and b"@page" in css.data
    assert client.get("/documents/assets/kaso_kyoka/sample.yaml").status_code == 404
    assert client.get("/documents/preview/no_such_form").status_code == 404


def test_preview_and_assets_need_a_login(documents_app: Flask, client: FlaskClient) -> None:
    assert client.get("/documents/assets/_shared/base.css").status_code in (302, 401, 403)
    assert client.get("/documents/preview/kaso_kyoka").status_code in (302, 401, 403)


def test_init_documents_keeps_one_renderer_on_the_app(app: Flask) -> None:
    from app.documents import documents, init_documents

    docs = init_documents(app)
    with app.app_context():
        assert documents() is docs
    assert "jumin_idou" in docs.catalog.forms


def test_warm_up_loads_everything_and_leaves_no_cached_pdf(tmp_path: Any) -> None:
    from app.documents.render import DEFAULT_ROOT, Documents

    docs = Documents(DEFAULT_ROOT, cache_size=8)
    docs.warm_up()
    assert docs.layout._css  # stylesheets parsed once
    assert docs.cache.get("anything") is None and not docs.cache._items


def test_threads_can_render_at_once() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from app.documents.render import DEFAULT_ROOT, Documents, RenderContext

    docs = Documents(DEFAULT_ROOT, cache_size=0)
    sample = docs.catalog.form("inu_henko").sample
    with ThreadPoolExecutor(max_workers=3) as pool:
        pdfs = list(
            pool.map(
                lambda i: docs.render_form_pdf(
                    "inu_henko", sample, RenderContext(case_number=f"T-{i}")
                ),
                range(3),
            )
        )
    assert all(p.startswith(b"%PDF") for p in pdfs) and len(set(pdfs)) == 3


def test_sealed_packet_needs_a_signature_and_verifies(app: Flask) -> None:
    import io

    from PIL import Image

    from app.documents import RenderContext, sealed_packet, verify_pdf
    from app.documents.render import DEFAULT_ROOT, Documents

    docs = Documents(DEFAULT_ROOT, cache_size=0)
    form = {"id": "inu_henko", **docs.catalog.form("inu_henko").sample}
    buffer = io.BytesIO()
    Image.new("L", (300, 80), 255).save(buffer, format="PNG")
    with app.app_context():
        with pytest.raises(ValueError, match="signed"):
            sealed_packet([form], RenderContext(municipality="みどり市"))
        signed = RenderContext(municipality="みどり市", signature_png=buffer.getvalue())
        pdf = sealed_packet([form], signed)
        assert verify_pdf(pdf, app.instance_path).valid
