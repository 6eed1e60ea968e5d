"""A divorce case under a DV 支援措置 at the counter: the panel raises what is due today, the
audit trail records that staff saw a protected case, and every worklist row carries the flag."""

import csv
import io


def _answer(client, url, fact, value):
    prefix = "f-" + fact.replace("[", "-").replace("].", "-").replace(".", "-")
    response = client.post(url + "/answer", data={"fact": fact, f"{prefix}-value": value})
    assert response.get_json()["ok"], response.get_json()


def _dv_case(client):
    url = client.post(
        "/counter/cases", data={"events": ["divorce", "move_within"], "channel": "counter"}
    ).headers["Location"]
    client.post(url + "/members", data={"roles": ["applicant", "household_head"]})
    client.post(url + "/members", data={"roles": ["kagaisha"]})
    for fact, value in {
        "divorce.kind": "kyogi",
        "divorce.date": "令和8年11月30日",
        "household.address": "東京都みどり市緑が丘二丁目7番1号",
        "household[0].name": "佐々木 恵",
        "household[0].shien_sochi": "moshide",
        "household[0].moving": "true",
        "household[1].name": "佐々木 隆",
        "household[1].bessetai": "true",
    }.items():
        _answer(client, url, fact, value)
    return url


def test_panel_raises_the_support_measure_as_due_today(client, login_as):
    login_as("counter")
    url = _dv_case(client)
    page = client.get(url).get_data(as_text=True)
    assert "本日中に受け付ける手続" in page
    assert "住民基本台帳事務における支援措置の申出" in page


def test_audit_records_who_saw_a_protected_case_and_worklists_carry_the_flag(client, login_as):
    login_as("counter")
    url = _dv_case(client)
    client.get(url)
    audit = client.get(url + "/audit").get_data(as_text=True)
    viewed = [line for line in audit.splitlines() if "支援措置（住所を伏せた）" in line]
    assert viewed, "the 聞き取り画面を表示 event does not record the 支援措置"
    assert any("1人目の世帯員" in line and "伏せた項目" in line for line in viewed)
    assert all("緑が丘" not in line for line in viewed)  # who saw it, not the address itself
    client.post(url + "/status", data={"to": "review"})
    client.post(url + "/paper-signature")
    client.post(url + "/issue")
    body = client.get("/counter/departments/shimin/worklist.json").get_json()
    mine = [i for i in body["items"] if i["procedure"] == "dv_shien_moshide"]
    assert mine and all(i["shien_sochi"] for i in mine)
    raw = client.get("/counter/departments/shimin/worklist.csv").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(raw)))
    assert rows[0][-1] == "支援措置"
    flagged = [r for r in rows[1:] if r[1] == "dv_shien_moshide"]
    assert flagged and flagged[0][-1].startswith("支援措置あり")
    assert "緑が丘" not in raw
