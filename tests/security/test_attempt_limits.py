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
    # Only 10 passwords were checked at all; the rest were refused as locked unchecked.
    assert outcomes["bad_credentials"] + outcomes["ok"] <= 10, outcomes
    assert outcomes["locked"] >= 20, outcomes
    with app.app_context():
        again = authenticate(user.username, PASSWORD, now=datetime.now(), max_failures=10)
    assert again.code in ("locked", "ok")
