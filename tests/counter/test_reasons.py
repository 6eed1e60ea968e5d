"""What staff read out on the panel: a written reason, else words from the facts — no rule."""

from __future__ import annotations

from app.counter.reasons import reason_lines, spoken_reason
from app.engine.result import AppliedProcedure, Why


def _procedure(**kw):
    base = dict(
        id="inkan_haishi",
        title="印鑑登録の廃止",
        department={"id": "shimin", "name": "市民課"},
        legal_basis={"law": "印鑑条例"},
        deadline=None,
        deadline_label=None,
        automatic=True,
        note=None,
        bring=(),
        person=None,
        forms=(),
        why=Why("'death' in case.events and p.inkan_toroku", None, {}),
    )
    return AppliedProcedure(**{**base, **kw})


def test_a_written_reason_is_read_as_written():
    p = _procedure(reason="故人が後期高齢者医療の被保険者だったため、資格喪失の届出が必要です")
    assert spoken_reason(p, ["死亡（おくやみ）"]) == p.reason


def test_without_a_reason_the_answers_are_said_in_words_never_the_rule():
    p = _procedure(
        person=0,
        person_name="山田 太郎",
        reason_facts=(("みどり市で印鑑登録をしていますか", "はい"), ("転出しますか", "（未確認）")),
    )
    text = spoken_reason(p, ["死亡（おくやみ）"])
    assert text == (
        "山田 太郎さんについて、死亡（おくやみ）の届出があり、"
        "「みどり市で印鑑登録をしていますか」が「はい」のため、この手続が必要です。"
    )
    assert "case.events" not in text and "p." not in text
    # A fact not known yet did not make it apply: it is not listed.
    assert reason_lines(p, []) == [("みどり市で印鑑登録をしていますか", "はい")]


def test_a_procedure_that_only_follows_the_event_says_so():
    assert spoken_reason(_procedure(), ["死亡（おくやみ）"]) == (
        "死亡（おくやみ）の届出があるため、この手続が必要です。"
    )
