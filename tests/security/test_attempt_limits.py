"""Medium 5: attempt limits hold under parallel requests (one conditional UPDATE each)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime
from typing import Any

from flask import Flask

from app.services.accounts import authenticate

PASSWORD = "correct-horse-battery"


def test_parallel_wrong_passwords_are_checked_no_more_often_than_the_limit(
    app: Flask, make_user: Any
) -> None:
    user = make_user("counter")
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(30)

    def guess(password: str) -> None:
        with app.app_context():
            start.wait()
            outcome = authenticate(user.username, password, now=datetime.now(), max_failures=10)
            with lock:
                outcomes[outcome.code] += 1

    threads = [threading.Thread(target=guess, args=(f"wrong-{i}",)) for i in range(29)]
    threads.append(threading.Thread(target=guess, args=(PASSWORD,)))  # the right one, last
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # At most 10 wrong passwords were checked (the window counts failures: a right one gives
    # its attempt back, so one more may be checked after it); the rest were refused unchecked.
    assert outcomes["bad_credentials"] <= 10, outcomes
    assert outcomes["bad_credentials"] + outcomes["ok"] <= 11, outcomes
    assert outcomes["locked"] >= 19, outcomes
    with app.app_context():
        again = authenticate(user.username, PASSWORD, now=datetime.now(), max_failures=10)
    assert again.code in ("locked", "ok")


def test_parallel_wrong_pins_are_checked_no_more_often_than_the_limit(
    app: Flask, make_user: Any
) -> None:
    from datetime import date

    from app.extensions import db
    from app.models import Case
    from app.services.cases import open_case
    from app.services.joining import JoinError, admit, issue_join_link

    staff = make_user("counter")
    with app.app_context():
        case_id = open_case(staff.id, ["death"], "remote", date.today(), datetime.now(), "c").id
        link = issue_join_link(
            db.session.get(Case, case_id), actor="c", now=datetime.now(), minutes=30
        )
    wrong = [f"{(int(link.pin) + i) % 10**6:06d}" for i in range(1, 12)]
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(12)

    def guess(pin: str) -> None:
        with app.app_context():
            start.wait()
            try:
                admit(link.token, pin, now=datetime.now(), max_attempts=5)
                code = "admitted"
            except JoinError as error:
                code = error.code
            with lock:
                outcomes[code] += 1

    threads = [threading.Thread(target=guess, args=(pin,)) for pin in [*wrong, link.pin]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # At most 5 PINs were checked (a wrong one that reached the limit answers "locked").
    assert outcomes["locked"] >= 7, outcomes
    assert outcomes["wrong_pin"] + outcomes["admitted"] <= 5, outcomes
