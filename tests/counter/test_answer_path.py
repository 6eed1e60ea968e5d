"""The answer path stays cheap and still correct: one read of the facts, checked writes."""

import dataclasses
from datetime import datetime

import pytest
from sqlalchemy import event, text

from app.counter import workspace
from app.counter.workspace import procedure_entries
from app.engine.factids import PARSED_IDS, parse_person_key, split_fact_id
from app.extensions import db
from app.models import Case
from app.services.cases import CaseError, cipher, fact_history, fact_values, stored_facts
from app.services.demo import load_demo
from app.services.interview import add_member, answer, evaluate_stored

NOW = datetime(2025, 4, 10, 10, 0)


@pytest.fixture
def staff(app, login_as):
    with app.app_context():
        load_demo(now=datetime.now())
    return login_as("counter")


def _open_case(client):
    url = client.post(
        "/counter/cases",
        data={"events": ["death"], "channel": "counter", "registry_code": "10000007919"},
    ).headers["Location"]
    assert client.post(url + "/roles/deceased", data={"person": "0"}).get_json()["ok"]
    return url


def test_an_answer_costs_six_statements_and_its_reply_shows_it(app, client, staff):
    url = _open_case(client)
    statements = []

    def note(_conn, _cursor, statement, *_args):
        if "ruleset_version" not in statement:  # the timeline's periodic check of publishes
            statements.append(statement.split()[0])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        reply = client.post(
            url + "/answer",
            data={"fact": "death.place", "f-death-place-value": "みどり市立病院"},
        ).get_json()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert reply["ok"] and reply["revision"] == 1
    assert "みどり市立病院" in reply["questions_html"]
    # the staff account, the case, its facts (once), the value, its history, the case's time
    assert statements == ["SELECT", "SELECT", "SELECT", "INSERT", "INSERT", "UPDATE"]
    again = client.post(
        url + "/answer",
        data={"fact": "death.place", "f-death-place-value": "自宅", "revision": "1"},
    ).get_json()
    assert again["ok"] and again["revision"] == 2 and "自宅" in again["questions_html"]
    stale = client.post(
        url + "/answer",
        data={"fact": "death.place", "f-death-place-value": "別の病院", "revision": "1"},
    )
    assert stale.status_code == 409 and stale.get_json()["revision"] == 2


@pytest.mark.parametrize("ours", ["2025-03-28", ""])
def test_an_answer_racing_another_save_is_refused_and_leaves_no_trace(
    app, ruleset, make_case, get_case, ours
):
    case_id = make_case()
    with app.app_context():
        case = get_case(case_id)
        answer(ruleset, case, "death.date", "2025-03-30", actor="a", now=NOW)
        theirs = cipher().seal("2025-03-29")
        done = []

        # answer() reads the facts, then writes: the other member saves in between.
        @event.listens_for(db.session(), "do_orm_execute")
        def other_staff_saves(state):
            if done or not (state.is_update or state.is_delete):
                return
            done.append(True)
            with db.engine.begin() as other:
                other.execute(
                    text("UPDATE fact_value SET value_enc = :v, revision = 2 WHERE fact_id = :f"),
                    {"v": theirs, "f": "death.date"},
                )

        with pytest.raises(CaseError) as error:
            answer(ruleset, case, "death.date", ours, actor="b", now=NOW, expected_revision=1)
        assert done and error.value.code == "conflict" and error.value.status == 409
        db.session.expire_all()
        assert fact_values(db.session.get(Case, case_id))["death.date"] == "2025-03-29"
        assert len(fact_history(case, "death.date")) == 1


def test_an_answer_reads_the_facts_once_and_returns_them_as_read_back(
    app, ruleset, make_case, get_case
):
    case_id = make_case()
    with app.app_context():
        case = get_case(case_id)
        reads = []

        def note(_conn, _cursor, statement, *_args):
            if statement.startswith("SELECT") and "FROM fact_value" in statement:
                reads.append(statement)

        event.listen(db.engine, "before_cursor_execute", note)
        try:
            done = answer(ruleset, case, "death.date", "令和7年4月1日", actor="a", now=NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        cleared = answer(ruleset, case, "death.date", "", actor="a", now=NOW)
        db.session.expire_all()
        reread = stored_facts(db.session.get(Case, case_id))
    assert len(reads) == 1
    assert done.facts["death.date"].value == "2025-04-01"
    assert done.fact.revision == 1 and cleared.fact.revision == 2
    assert "death.date" not in cleared.facts and cleared.facts == reread


def test_parsed_fact_ids_are_remembered_within_a_bound():
    split_fact_id.cache_clear()
    for n in range(PARSED_IDS + 100):
        assert split_fact_id(f"household[{n}].name") == (n, "name")
    assert split_fact_id.cache_info().currsize == PARSED_IDS
    assert parse_person_key("death.date") is None and split_fact_id("death.date") == (
        None,
        "death.date",
    )


def _entries(rules, case, show_rules=False):
    facts = stored_facts(case)
    result = evaluate_stored(rules, case, facts)
    titles = [rules.events[e].title for e in case.events]
    return result, procedure_entries(rules, result, facts, titles, show_rules)


def _death_case(ruleset, case):
    index = add_member(ruleset, case, ["deceased", "household_head"], actor="c", now=NOW)
    answer(ruleset, case, f"household[{index}].name", "山田 太郎", actor="c", now=NOW)
    answer(ruleset, case, "death.date", "令和7年4月1日", actor="c", now=NOW)


def test_panel_entries_are_kept_until_a_fact_they_read_is_answered_again(
    app, ruleset, make_case, get_case
):
    case_id = make_case()
    with app.test_request_context():
        case = get_case(case_id)
        _death_case(ruleset, case)
        workspace._PROCEDURES.clear()
        result, first = _entries(ruleset, case)
        assert result.procedures and len(workspace._PROCEDURES) == len(result.procedures)
        assert all(p.title in first[p.key] for p in result.procedures)
        _same, again = _entries(ruleset, case)
        assert all(again[key] is first[key] for key in first)  # kept, not drawn again
        reading = {p.key for p in result.procedures if "death.date" in p.why.facts}
        assert reading and reading != set(first)
        # The same value typed again is a new answer: what reads it is drawn again.
        answer(ruleset, case, "death.date", "令和7年4月1日", actor="c", now=NOW)
        _after, redrawn = _entries(ruleset, case)
        assert {key for key in first if redrawn[key] is not first[key]} == reading
        assert len(workspace._PROCEDURES) == len(result.procedures) + len(reading)


def test_panel_entries_are_drawn_again_for_another_rules_version_or_reader(
    app, ruleset, make_case, get_case
):
    case_id = make_case()
    with app.test_request_context():
        case = get_case(case_id)
        _death_case(ruleset, case)
        _result, first = _entries(ruleset, case)
        newer = dataclasses.replace(ruleset, version=ruleset.version + "-next")
        _r, other = _entries(newer, case)
        assert all(other[key] is not first[key] for key in first)
        _r, rules_shown = _entries(ruleset, case, show_rules=True)
        assert all(rules_shown[key] is not first[key] for key in first)
        assert any("判定式を表示" in html for html in rules_shown.values())
        assert not any("判定式を表示" in html for html in first.values())


def test_panel_entries_kept_are_bounded(app, ruleset, make_case, get_case, monkeypatch):
    monkeypatch.setattr(workspace, "PROCEDURES_KEPT", 3)
    workspace._PROCEDURES.clear()
    case_id = make_case()
    with app.test_request_context():
        case = get_case(case_id)
        _death_case(ruleset, case)
        for n in range(4):
            answer(ruleset, case, "death.date", f"令和7年4月{n + 1}日", actor="c", now=NOW)
            _result, entries = _entries(ruleset, case)
            assert entries and len(workspace._PROCEDURES) <= 3
