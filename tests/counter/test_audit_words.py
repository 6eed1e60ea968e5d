"""The audit page speaks Japanese: actions named, values as words, hashes folded away."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from app.counter.audit import event_rows, fact_words


def test_events_are_named_and_their_details_put_in_words(app):
    with app.test_request_context():
        from app.counter.context import ruleset

        rules = ruleset()
        at = datetime(2026, 12, 3, 9, 0)
        rows = event_rows(
            rules,
            [
                SimpleNamespace(
                    at=at,
                    actor="resident",
                    action="form_confirmed",
                    detail={"form": "kokuho", "hash": "ab" * 32},
                ),
                SimpleNamespace(
                    at=at,
                    actor="staff",
                    action="status",
                    detail={"from": "interviewing", "to": "review", "reason": None},
                ),
                SimpleNamespace(at=at, actor="staff", action="something_new", detail={"x": True}),
            ],
            {},
        )
        confirmed, status, unknown = rows
        assert confirmed["action"] == "住民が書類を確認"
        assert confirmed["hashes"] == [("hash", "ab" * 32)]
        assert all("ab" * 32 not in words for _label, words in confirmed["details"])
        assert ("変更前", "聞き取り中") in status["details"]
        assert ("理由", "（なし）") in status["details"]
        assert unknown["action"] == "その他の操作" and ("x", "はい") in unknown["details"]
        assert fact_words(rules, "death.infectious", False) == "いいえ"
        assert fact_words(rules, "household[0].my_number", "123456789018") == "********"
        assert fact_words(rules, "death.place", None) == "（なし）"
