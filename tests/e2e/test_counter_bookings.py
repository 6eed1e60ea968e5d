"""A resident books a visit on the public page; at the counter the booking opens its case."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.test_counter_journeys import _login
from tests.e2e.test_counter_keyboard import SHOTS

pytestmark = pytest.mark.browser


def test_a_booking_made_at_home_opens_into_a_case_at_the_counter(
    live_server, staff_account, browser, page
):
    day = (date.today() + timedelta(days=2)).isoformat()
    home = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    phone = home.new_page()
    phone.goto(live_server.url + f"/pre-entry/booking?day={day}")
    phone.get_by_label("手続の種類").select_option("death")
    phone.get_by_label("時間").select_option("13:30")
    phone.get_by_label("予約する方の氏名", exact=True).fill("山田 花子")
    phone.get_by_label("予約する方の氏名（カナ）").fill("やまだ はなこ")
    phone.get_by_label("日中の連絡先（電話番号）").fill("042-246-1357")
    phone.get_by_label("亡くなった方の氏名").fill("山田 太郎")
    phone.get_by_label("亡くなった日").fill("令和7年11月20日")
    phone.get_by_role("button", name="予約する").click()
    number = phone.locator("#booking-number").inner_text()
    assert re.fullmatch(r"\d{6}-\d{3}", number)
    expect(phone.get_by_role("img", name=re.compile("QRコード"))).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SHOTS / "booking-resident.png"), full_page=True)
    home.close()

    # At the counter: the booking number (or its QR) opens the day's list on that booking.
    _login(page, live_server, staff_account)
    page.goto(live_server.url + f"/counter/bookings/number/{number}")
    booking = page.locator(f"#booking-{number}")
    expect(booking).to_contain_text("亡くなった方の氏名: 山田 太郎")
    expect(booking).to_contain_text("死亡届")
    page.screenshot(path=str(SHOTS / "booking-day.png"), full_page=True)
    start = booking.get_by_role("button", name="この予約で受付を開始する")
    expect(start).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(r"/counter/cases/\d+$", page.url)
    assert page.get_by_text("予約時の申告").first.is_visible()
    expect(page.locator("#panel")).to_contain_text("死亡届")


def test_the_statistics_page_draws_its_charts(live_server, staff_account, page):
    _login(page, live_server, staff_account)
    page.get_by_role("link", name="窓口の統計").click()
    page.get_by_role("heading", name="窓口の統計").wait_for()
    chart = page.get_by_role("img", name="日ごとの受付件数（ライフイベント別）")
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.complete && img.naturalWidth > 300")
    assert int(page.locator("#stat-cases").inner_text().rstrip("件")) >= 1
    page.screenshot(path=str(SHOTS / "statistics.png"), full_page=True)
