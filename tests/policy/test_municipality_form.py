"""The plain form for the municipality profile (issue 14, 3): departments, floors, counters,
options and closed days are written into municipality.yaml, comments kept, checked."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from app.services.ruleset_municipality import OptionRow, parse_profile, rewrite_profile
from app.services.ruleset_store import VersionError, create_draft, file_of, latest_published
from app.services.ruleset_workspace import draft_ruleset
from tests.policy.conftest import NOW, version
from tests.policy.test_impact_and_cli import _login

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (ROOT / "procedure_rules" / "municipality.yaml").read_text(encoding="utf-8")
OPTIONS = (
    OptionRow("household_head_auto_change", False, ""),
    OptionRow("kodomo_iryo_age", 18, ""),
)


def _form(**changes: Any) -> MultiDict:
    data = yaml.safe_load(SHIPPED)["municipality"]
    pairs: list[tuple[str, str]] = [(k, str(data[k])) for k in ("name", "code", "prefecture")]
    pairs += [("address", data["address"]), ("phone", data["phone"])]
    for d in data["departments"]:
        pairs += [
            ("dept_id", d["id"]),
            ("dept_name", d["name"]),
            ("dept_floor", str(d["floor"])),
            ("dept_counter", d["counter"]),
        ]
    pairs += [("dept_id", ""), ("dept_name", ""), ("dept_floor", ""), ("dept_counter", "")]
    pairs += [
        ("option_household_head_auto_change", "false"),
        ("option_kodomo_iryo_age", "18"),
        ("year_end_from", "12-29"),
        ("year_end_to", "01-03"),
        ("extra", ""),
        ("basis", data["closed_days"]["basis"]),
    ]
    form = MultiDict(pairs)
    for key, value in changes.items():
        if isinstance(value, list):
            form.setlist(key, value)
        else:
            form[key] = value
    return form


def test_unchanged_values_write_the_same_file() -> None:
    assert rewrite_profile(SHIPPED, parse_profile(_form(), OPTIONS)) == SHIPPED


def test_a_new_department_an_option_and_a_closed_day_change_only_their_lines() -> None:
    form = _form(extra="2027-06-01\n2027-06-01", option_household_head_auto_change="true")
    ids = form.getlist("dept_id")[:-1] + ["fukushi"]
    form.setlist("dept_id", ids)
    form.setlist("dept_name", form.getlist("dept_name")[:-1] + ["福祉課, 生活支援係"])
    form.setlist("dept_floor", form.getlist("dept_floor")[:-1] + ["2"])
    form.setlist("dept_counter", form.getlist("dept_counter")[:-1] + ["18番"])
    out = rewrite_profile(SHIPPED, parse_profile(form, OPTIONS))
    old, new = SHIPPED.splitlines(), out.splitlines()
    changed = [line for line in new if line not in old]
    assert changed == [
        '    - {id: fukushi, name: "福祉課, 生活支援係", floor: 2, counter: "18番"}',
        "    extra: [2027-06-01]                              # 条例で定めるその他の休日（例: 市民の日）を日付で",
        "    household_head_auto_change: true",
    ]
    assert [line for line in old if line.strip().startswith("#")] == [
        line for line in new if line.strip().startswith("#")
    ]
    data = yaml.safe_load(out)["municipality"]
    assert data["departments"][-1] == {
        "id": "fukushi",
        "name": "福祉課, 生活支援係",
        "floor": 2,
        "counter": "18番",
    }
    assert data["closed_days"]["extra"] == [date(2027, 6, 1)]
    assert data["code"] == "132306"  # still a quoted text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"year_end_from": "12/29"}, "年末年始の初日「12/29」が読めません。"),
        ({"extra": "2027-02-30"}, "休日の 1 行目「2027-02-30」が日付として読めません。"),
        (
            {"option_kodomo_iryo_age": "十八"},
            "設定「kodomo_iryo_age」の値「十八」が数字ではありません。",
        ),
        ({"name": " "}, "市区町村の名前が空です。"),
    ],
)
def test_values_that_cannot_be_read_are_refused_in_japanese(
    changes: dict[str, str], message: str
) -> None:
    with pytest.raises(VersionError) as refused:
        parse_profile(_form(**changes), OPTIONS)
    assert refused.value.message == message


def test_a_bad_department_row_is_refused() -> None:
    form = _form()
    form.setlist("dept_floor", ["一階", *form.getlist("dept_floor")[1:]])
    with pytest.raises(VersionError) as refused:
        parse_profile(form, OPTIONS)
    assert refused.value.message == "1 行目の階「一階」が数字ではありません。"
    form = _form()
    form.setlist("dept_id", [*form.getlist("dept_id")[:-1], "Fukushi"])
    form.setlist("dept_name", [*form.getlist("dept_name")[:-1], "福祉課"])
    with pytest.raises(VersionError) as bad_id:
        parse_profile(form, OPTIONS)
    assert bad_id.value.code == "bad_department_id"


def _draft(app: Flask) -> int:
    with app.app_context():
        base = latest_published()
        assert base is not None
        return create_draft(base, actor="alice", now=NOW).id


def test_the_page_saves_the_profile_into_the_draft_and_the_rules_use_it(
    policy_app: Flask, client: FlaskClient
) -> None:
    draft_id = _draft(policy_app)
    _login(client, "alice")
    assert 'id="municipality-link"' in client.get(f"/policy/versions/{draft_id}").get_data(
        as_text=True
    )
    url = f"/policy/versions/{draft_id}/municipality"
    page = client.get(url).get_data(as_text=True)
    assert 'value="保険年金課"' in page and "年末年始の初日" in page
    revision = re.search(r'name="revision" value="(\d+)"', page)[1]
    form = _form(revision=revision, extra="2027-06-01")
    form.setlist("dept_counter", ["2番", *form.getlist("dept_counter")[1:]])
    saved = client.post(url, data=form, follow_redirects=True)
    body = saved.get_data(as_text=True)
    assert "市の設定を保存しました" in body and "検査の問題" not in body
    with policy_app.app_context():
        rules = draft_ruleset(version(draft_id), policy_app.config)
        assert rules.municipality.departments["shimin"].counter == "2番"
        assert rules.calendar.is_closed(date(2027, 6, 1))


def test_removing_a_department_in_use_shows_the_procedures_that_name_it(
    policy_app: Flask, client: FlaskClient
) -> None:
    draft_id = _draft(policy_app)
    _login(client, "alice")
    url = f"/policy/versions/{draft_id}/municipality"
    page = client.get(url).get_data(as_text=True)
    revision = re.search(r'name="revision" value="(\d+)"', page)[1]
    form = _form(revision=revision)
    form.add("dept_remove", "kankyo")
    body = client.post(url, data=form, follow_redirects=True).get_data(as_text=True)
    assert "市の設定を保存しました" in body
    with policy_app.app_context():
        text = file_of(version(draft_id), "procedure_rules/municipality.yaml").content.decode()
        assert "kankyo" not in text
    shown = client.get(f"/policy/versions/{draft_id}").get_data(as_text=True)
    assert "不明な課 &#39;kankyo&#39;" in shown or "不明な課 'kankyo'" in shown
    refused = client.post(url, data=_form(revision=revision, year_end_to="1/3"))
    assert refused.status_code in (400, 409)


def test_two_people_saving_the_profile_get_a_conflict_and_keep_what_they_typed(
    policy_app: Flask, client: FlaskClient
) -> None:
    draft_id = _draft(policy_app)
    _login(client, "alice")
    url = f"/policy/versions/{draft_id}/municipality"
    revision = re.search(r'name="revision" value="(\d+)"', client.get(url).get_data(as_text=True))[
        1
    ]
    assert client.post(url, data=_form(revision=revision, extra="2027-06-01")).status_code == 302
    late = client.post(url, data=_form(revision=revision, basis="あとから書いた根拠"))
    assert late.status_code == 409
    body = late.get_data(as_text=True)
    assert "上書きはしませんでした" in body and 'value="あとから書いた根拠"' in body
    with policy_app.app_context():
        text = file_of(version(draft_id), "procedure_rules/municipality.yaml").content.decode()
        assert "extra: [2027-06-01]" in text and "あとから書いた根拠" not in text
