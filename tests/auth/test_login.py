from datetime import datetime, timedelta

from app.extensions import db
from app.models import StaffUser
from app.services.accounts import authenticate

PASSWORD = "correct-horse-battery"


def test_wrong_password_shows_japanese_error_and_keeps_the_username(client, make_user):
    user = make_user("counter")
    response = client.post("/login", data={"username": user.username, "password": "nope"})
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "職員IDまたはパスワードが違います" in page
    assert f'value="{user.username}"' in page


def test_login_redirects_to_the_role_landing_page(client, make_user):
    user = make_user("policy")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.headers["Location"] == "/policy/"


def test_next_parameter_cannot_send_the_user_off_site(client, make_user):
    user = make_user("counter")
    response = client.post(
        "/login?next=//evil.example/x", data={"username": user.username, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/counter/"


def test_account_locks_after_repeated_failures(app, make_user):
    user = make_user("counter")
    now = datetime(2026, 4, 1, 9, 0)
    with app.app_context():
        for _ in range(3):
            assert (
                authenticate(user.username, "wrong", now, max_failures=3).code == "bad_credentials"
            )
        assert authenticate(user.username, PASSWORD, now, max_failures=3).code == "locked"
        later = now + timedelta(minutes=16)
        assert authenticate(user.username, PASSWORD, later, max_failures=3).code == "ok"


def test_password_is_stored_as_argon2_hash(app, make_user):
    user = make_user("admin")
    with app.app_context():
        stored = db.session.get(StaffUser, user.id).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_forged_csrf_token_is_refused(app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user("counter")
    client = app.test_client()
    client.get("/login")
    response = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": "forged"},
    )
    assert response.status_code == 400
    assert "画面の有効期限が切れました" in response.get_data(as_text=True)
    assert client.get("/counter/").status_code == 302  # still not logged in


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_secure_by_default(client, make_user):
    user = make_user("counter")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_error_page_is_japanese_without_a_trace(client):
    response = client.get("/no-such-page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "ページが見つかりません" in page and "Traceback" not in page
