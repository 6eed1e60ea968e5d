"""Bookings (予約): taken on the phone or by the resident, listed by day with what each
needs, and opened into a case whose facts say 「予約時の申告」."""

from __future__ import annotations

import contextlib
import re
from datetime import date, timedelta

import pytest

TOMORROW = (date.today() + timedelta(days=1)).isoformat()
DEATH = {
    "event": "death",
    "day": TOMORROW,
    "slot": "10:00",
    "name": "山田 花子",
    "name_kana": "やまだ はなこ",
    "phone": "042-246-1357",
    "deceased_name": "山田 太郎",
    "death_date": "令和7年11月20日",
}


@pytest.fixture
def staff(login_as):
    return login_as("counter")


def _book(client, **changes):
    return client.post("/counter/bookings/", data={**DEATH, **changes})


def test_a_phone_booking_is_listed_with_what_the_visit_needs(client, staff):
    made = _book(client, follow_redirects=False)
    assert made.status_code == 302
    number = re.search(r"number=([0-9-]+)", made.headers["Location"]).group(1)
    page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert f"予約番号 {number}" in page and "10:00" in page
    assert "亡くなった方の氏名: 山田 太郎" in page
    assert "亡くなった日: 令和7年11月20日" in page  # in words, not ISO
    assert "予約する方の氏名（カナ）: ヤマダ ハナコ" in page  # checked (and converted) by the rules
    assert "死亡届" in page  # the engine's answer for a death, before the visit
    # the QR on the resident's paper names the booking: it opens that day, that booking
    found = client.get(f"/counter/bookings/number/{number}")
    assert f"number={number}" in found.headers["Location"]


def test_a_booking_refuses_a_bad_fact_next_to_its_field_and_keeps_the_rest(client, staff):
    refused = _book(client, death_date="令和0年1月1日", phone="")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="death_date-error"' in page and 'id="phone-error"' in page
    assert "日中の連絡先（電話番号）を入力してください。" in page
    assert 'value="山田 太郎"' in page  # what was typed stays


def test_a_full_slot_is_refused_and_shown_full(app, client, staff):
    capacity = app.config["BOOKING_CAPACITY"]
    for _ in range(capacity):
        assert _book(client).status_code == 302
    refused = _book(client)
    assert refused.status_code == 422
    assert "10:00の予約はいっぱいです" in refused.get_data(as_text=True)
    page = client.get(f"/counter/bookings/?day={TOMORROW}").get_data(as_text=True)
    assert "10:00（満員）" in page


def test_opening_a_booking_opens_its_case_with_the_booked_facts(client, staff):
    location = _book(client).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    booking_id = re.search(r"/counter/bookings/(\d+)/open", page).group(1)
    opened = client.post(f"/counter/bookings/{booking_id}/open")
    case_url = opened.headers["Location"]
    case = client.get(case_url).get_data(as_text=True)
    assert "予約時の申告" in case
    assert 'value="山田 太郎"' in case and "死亡届" in case
    # opening it again gives the same case, not a second one
    again = client.post(f"/counter/bookings/{booking_id}/open")
    assert again.headers["Location"] == case_url


def test_a_resident_books_on_the_public_page_and_gets_a_number_and_qr(client):
    page = client.get("/pre-entry/booking")
    assert page.status_code == 200 and "窓口の予約" in page.get_data(as_text=True)
    done = client.post("/pre-entry/booking", data=DEATH)
    body = done.get_data(as_text=True)
    assert done.status_code == 200, body
    number = re.search(r'id="booking-number">([0-9-]+)<', body).group(1)
    assert number.startswith(date.fromisoformat(TOMORROW).strftime("%y%m%d"))
    assert 'src="data:image/png;base64,' in body
    too_far = client.post(
        "/pre-entry/booking",
        data={**DEATH, "day": (date.today() + timedelta(days=400)).isoformat()},
    )
    assert too_far.status_code == 422 and "日先までです" in too_far.get_data(as_text=True)


def test_parallel_bookings_never_overfill_a_slot(app, client, staff, monkeypatch):
    """Issue 18 (Medium 5's class: limits under parallel requests): the slot's count and the
    insert were two steps, so bookings made at once could all take the last place."""
    import threading

    from app.services import bookings

    app.config["BOOKING_CAPACITY"] = 2
    # Every request counts the slot at the same moment: the race, made certain (the fixed
    # code counts one at a time, so there the barrier breaks after its timeout instead).
    counting = threading.Barrier(4, timeout=3)
    real = bookings.slot_use

    def at_once(day):
        with contextlib.suppress(threading.BrokenBarrierError):
            counting.wait()
        return real(day)

    monkeypatch.setattr(bookings, "slot_use", at_once)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    answers: list[int] = []

    def book_once() -> None:
        mine = app.test_client()
        mine.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
        answers.append(_book(mine).status_code)

    threads = [threading.Thread(target=book_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [302, 302, 422, 422], answers
    page = client.get(f"/counter/bookings/?day={TOMORROW}").get_data(as_text=True)
    assert "10:00（満員）" in page
