import pytest

pytestmark = pytest.mark.browser

PASSWORD = "browser-test-password"


def test_counter_user_logs_in_and_lands_on_the_counter_page(live_server, staff_account, page):
    username = staff_account("counter")
    page.goto(live_server.url + "/counter/")
    assert page.url.startswith(live_server.url + "/login")
    page.get_by_label("職員ID").fill(username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(live_server.url + "/counter/")
    assert page.get_by_role("heading", name="窓口業務").is_visible()


def test_wrong_password_shows_a_japanese_error_and_keeps_the_form(live_server, staff_account, page):
    username = staff_account("counter")
    page.goto(live_server.url + "/login")
    page.get_by_label("職員ID").fill(username)
    page.get_by_label("パスワード").fill("wrong-password")
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "職員IDまたはパスワードが違います" in alert.inner_text()
    assert page.get_by_label("職員ID").input_value() == username
