"""Medium 9: a database error still gets the Japanese error page (the session rolled back)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from flask_login import current_user

from app.auth.access import allow
from app.extensions import db
from app.models import StaffUser


def test_the_error_page_renders_after_a_failed_statement(
    app: Flask, client: Any, login_as: Any
) -> None:
    @allow("counter")
    def broken() -> str:
        db.session.commit()  # the logged-in user is expired: the page header reloads it
        db.session.add(
            StaffUser(
                username=current_user.username,  # taken: the flush fails
                display_name="x",
                role="counter",
                password_hash="x",
                created_at=datetime.now(),
            )
        )
        db.session.flush()
        return "never"

    app.add_url_rule("/test-broken", "test_broken", broken)
    login_as("counter")
    response = client.get("/test-broken")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "システムエラーが発生しました" in page
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert client.get("/counter/").status_code == 200  # the next request is fine
