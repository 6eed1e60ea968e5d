"""Medium 7 (PDF): a packet that lays out too long fails alone, in Japanese; others go on."""

from __future__ import annotations

import threading
import time
from typing import Any

from app.documents.layout import Part
from app.documents.pool import DocumentPool
from app.documents.render import DEFAULT_ROOT
from app.errors import DomainError

# 300,000 characters in one box: the packet the audit timed at 47 s.
SLOW = Part("<p>" + "東京都みどり市" * 43_000 + "</p>", ())
FAST = Part("<p>みどり市中央1丁目2番3号</p>", ())


def test_a_slow_packet_fails_alone_and_the_pool_renders_on() -> None:
    pool = DocumentPool(str(DEFAULT_ROOT), workers=2, render_seconds=3)
    outcome: dict[str, Any] = {}

    def slow() -> None:
        started = time.monotonic()
        try:
            pool.render("遅い", [[SLOW]])
            outcome["slow"] = "rendered"
        except Exception as error:  # noqa: BLE001 (the test reads what it was)
            outcome["slow"] = error
        outcome["slow_seconds"] = time.monotonic() - started

    try:
        pool.wait_ready()
        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.3)
        started = time.monotonic()
        (other,) = pool.render("ふつう", [[FAST]])  # the other worker, meanwhile
        assert other.pages == 1 and time.monotonic() - started < 2.5
        thread.join(20)
        assert not thread.is_alive(), "the slow packet was never stopped"
        error = outcome["slow"]
        assert isinstance(error, DomainError) and error.status == 503, error
        assert "時間がかかりすぎたため" in error.message
        assert outcome["slow_seconds"] < 6
        # New workers took the killed ones' place: the next packet renders.
        (after,) = pool.render("ふつう", [[FAST]])
        assert after.pages == 1
    finally:
        for process in list(pool.executor._processes.values()):
            process.kill()
        pool.close()
