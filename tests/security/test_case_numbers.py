"""Medium 9: case numbers stay unique under parallel opening; a locked SQLite says, in
Japanese and truthfully, that nothing was saved and to try again."""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import date, datetime
from typing import Any

import pytest
from flask import Flask

from app.extensions import db
from app.models import Case
from app.services.cases import open_case


def test_parallel_cases_get_distinct_consecutive_numbers(app: Flask, make_user: Any) -> None:
    staff = make_user("counter")
    numbers: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def open_one() -> None:
        with app.app_context():
            start.wait()
            try:
                case = open_case(staff.id, ["death"], "counter", date.today(), datetime.now(), "c")
                with lock:
                    numbers.append(case.number)
            except BaseException as error:  # noqa: BLE001 (the test reports it)
                failures.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures[0]
    year = datetime.now().year
    assert sorted(numbers) == [f"{year}-{n:06d}" for n in range(1, 13)]


def test_a_purged_case_does_not_make_the_next_number_collide(app: Flask, make_user: Any) -> None:
    staff = make_user("counter")
    with app.app_context():
        opened = [
            open_case(staff.id, ["death"], "counter", date.today(), datetime.now(), "c").number
            for _ in range(3)
        ]
        db.session.delete(db.session.scalar(db.select(Case).filter_by(number=opened[0])))
        db.session.commit()
        # Counting the rows (2) and adding one gave the third case's number again.
        fourth = open_case(staff.id, ["death"], "counter", date.today(), datetime.now(), "c")
        assert fourth.number not in opened and fourth.number.endswith("000004")


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="SQLite's lock")
def test_a_locked_database_says_nothing_was_saved_and_to_try_again(
    app: Flask, client: Any, login_as: Any
) -> None:
    login_as("counter")
    url = client.post("/counter/cases", data={"events": ["move_in"], "channel": "counter"}).headers[
        "Location"
    ]
    client.post(url + "/members", data={"roles": ["applicant", "household_head"]})
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, past busy_timeout
    try:
        refused = client.post(
            url + "/answer", data={"fact": "household.address", "f-household-address-value": "東"}
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    body = refused.get_json()
    assert refused.status_code == 503, refused.get_data(as_text=True)[:500]
    assert body["ok"] is False and "保存されませんでした" in body["error"]
    # True: it was not saved, and trying again saves it.
    page = client.get(url).get_data(as_text=True)
    assert "東</" not in page
    again = client.post(
        url + "/answer", data={"fact": "household.address", "f-household-address-value": "東"}
    )
    assert again.get_json()["ok"] is True


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="SQLite's lock")
def test_a_locked_database_gives_a_page_in_japanese(app: Flask, client: Any, login_as: Any) -> None:
    login_as("counter")
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        refused = client.post("/counter/cases", data={"events": ["death"], "channel": "counter"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    page = refused.get_data(as_text=True)
    assert refused.status_code == 503
    assert "保存されませんでした" in page and "もう一度" in page
    assert refused.headers["Content-Security-Policy"].startswith("default-src 'self'")
