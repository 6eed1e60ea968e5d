from datetime import datetime

import pytest

from app.services.cases import CaseError, fact_values
from app.services.interview import add_member, answer, display_value, evaluate_stored

NOW = datetime(2025, 4, 10, 10, 0)


def test_answer_is_parsed_stored_in_json_form_and_re_evaluated(app, ruleset, make_case, get_case):
    case_id = make_case()
    with app.app_context():
        case = get_case(case_id)
        index = add_member(ruleset, case, ["deceased", "household_head"], actor="c", now=NOW)
        result = answer(
            ruleset, case, f"household[{index}].birth_date", "昭和22年3月2日", actor="c", now=NOW
        ).result
        assert fact_values(case)[f"household[{index}].birth_date"] == "1947-03-02"
        assert result.as_of.isoformat() == "2025-04-10"
        assert display_value(ruleset, "household[0].birth_date", "1947-03-02") == "昭和22年3月2日"


def test_invalid_answer_gets_the_engines_japanese_message_and_is_not_stored(
    app, ruleset, make_case, get_case
):
    case_id = make_case()
    with app.app_context():
        case = get_case(case_id)
        add_member(ruleset, case, ["deceased"], actor="c", now=NOW)
        with pytest.raises(CaseError) as error:
            answer(ruleset, case, "household[0].my_number", "1234567890123", actor="c", now=NOW)
        assert error.value.code == "invalid" and "12桁" in error.value.message
        assert "household[0].my_number" not in fact_values(case)


def test_unknown_fact_id_is_refused(app, ruleset, make_case, get_case):
    case_id = make_case()
    with app.app_context(), pytest.raises(CaseError, match="入力できる項目ではありません"):
        answer(ruleset, get_case(case_id), "deceased.agee", "1", actor="c", now=NOW)


def test_a_single_role_cannot_be_given_twice(app, ruleset, make_case, get_case):
    case_id = make_case()
    with app.app_context():
        case = get_case(case_id)
        add_member(ruleset, case, ["deceased"], actor="c", now=NOW)
        with pytest.raises(CaseError, match="世帯員1に設定済み"):
            add_member(ruleset, case, ["deceased"], actor="c", now=NOW)
        assert add_member(ruleset, case, ["child"], actor="c", now=NOW) == 1
        assert add_member(ruleset, case, ["child"], actor="c", now=NOW) == 2


def test_next_questions_come_from_the_engine(app, ruleset, make_case, get_case):
    case_id = make_case()
    with app.app_context():
        result = evaluate_stored(ruleset, get_case(case_id))
        assert "death.date" in [q.fact for q in result.next_questions]
