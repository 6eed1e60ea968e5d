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
