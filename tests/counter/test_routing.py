import csv
import io
import json
import re

import pytest


@pytest.fixture
def staff(login_as):
    return login_as("counter")


def _issued_death_case(client, **more):
    url = client.post("/counter/cases", data={"events": ["death"], "channel": "counter"}).headers[
        "Location"
    ]
    client.post(url + "/members", data={"roles": ["deceased", "household_head"]})
    client.post(url + "/members", data={"roles": ["spouse", "applicant"]})
    answers = {
        "death.date": "令和7年4月7日",
        "household[0].name": "山田 太郎",
        "household[0].birth_date": "昭和22年3月2日",
        "household[0].kokuho_member": "true",
        **more,
    }
    for fact, value in answers.items():
        prefix = "f-" + fact.replace("[", "-").replace("].", "-").replace(".", "-")
        response = client.post(url + "/answer", data={"fact": fact, f"{prefix}-value": value})
        assert response.get_json()["ok"], response.get_json()
    client.post(url + "/status", data={"to": "review"})
    client.post(url + "/paper-signature")
    client.post(url + "/issue")
    return url


def test_issuing_routes_each_procedure_to_its_department(client, staff, ruleset):
    url = _issued_death_case(client)
    page = client.get(url).get_data(as_text=True)
    assert "交付済み" in page
    # after issue the answers are shown read-only: every input sits in a disabled fieldset
    assert '<fieldset class="read-only" disabled>' in page and "変更できません" in page
    routed = {}
    for dept in ruleset.municipality.departments:
        body = client.get(f"/counter/departments/{dept}/worklist.json").get_json()
        routed.update({i["procedure"]: dept for i in body["items"]})
    assert routed, "no procedure was routed"
    for procedure in ruleset.procedures:
        if procedure.id in routed:
            assert routed[procedure.id] == procedure.department.id


def test_worklist_csv_opens_in_spreadsheets_and_done_items_leave_the_list(client, staff, ruleset):
    _issued_death_case(client)
    dept = next(
        d
        for d in ruleset.municipality.departments
        if client.get(f"/counter/departments/{d}/worklist.json").get_json()["items"]
    )
    raw = client.get(f"/counter/departments/{dept}/worklist.csv").data
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["受付番号", "手続ID", "手続"] and len(rows) >= 2
    items = client.get(f"/counter/departments/{dept}/worklist.json").get_json()["items"]
    client.post(f"/counter/routed/{items[0]['id']}/done")
    after = client.get(f"/counter/departments/{dept}/worklist.json").get_json()["items"]
    assert [i["id"] for i in after] == [i["id"] for i in items[1:]]
    assert json.dumps(after, ensure_ascii=False)


def test_cannot_issue_before_signing(client, staff):
    url = client.post("/counter/cases", data={"events": ["death"], "channel": "counter"}).headers[
        "Location"
    ]
    client.post(url + "/issue")
    assert "署名（または紙への署名）が済んでから" in client.get(url).get_data(as_text=True)


def test_plain_status_button_cannot_skip_signing(client, staff):
    url = client.post("/counter/cases", data={"events": ["death"], "channel": "counter"}).headers[
        "Location"
    ]
    client.post(url + "/status", data={"to": "review"})
    assert client.post(url + "/status", data={"to": "signed"}).status_code == 400


def test_worklist_page_shows_deadlines_in_wareki_and_opens_each_form(client, staff, ruleset):
    url = _issued_death_case(client)
    for dept in ruleset.municipality.departments:
        items = client.get(f"/counter/departments/{dept}/worklist.json").get_json()["items"]
        with_form = [i for i in items if i["forms"] and i["deadline"]]
        if with_form:
            break
    else:
        pytest.fail("no routed procedure has a form and a deadline")
    page = client.get(f"/counter/departments/{dept}/").get_data(as_text=True)
    item = with_form[0]
    assert item["deadline"] not in page  # not ISO
    assert "令和" in page
    links = re.findall(r'href="(' + re.escape(url) + r'/forms/[^"]+)"', page)
    assert links, page
    link = (
        links[0].replace("&#91;", "[").replace("&#93;", "]").replace("%5B", "[").replace("%5D", "]")
    )
    assert client.get(link).status_code == 200


def test_guidance_only_procedures_are_kept_but_never_wait_on_a_worklist(client, staff, ruleset):
    # A pensioner died: 未支給年金 is claimed at the 年金事務所, the city only tells them so.
    url = _issued_death_case(client, **{"household[0].nenkin_jukyu": "true"})
    (procedure,) = [p for p in ruleset.procedures if p.id == "mishikyu_nenkin"]
    assert procedure.guidance
    dept = procedure.department.id
    base = f"/counter/departments/{dept}/"
    pending = client.get(base + "worklist.json").get_json()["items"]
    assert "mishikyu_nenkin" not in {i["procedure"] for i in pending}
    everything = client.get(base + "worklist.json?all=1").get_json()["items"]
    (row,) = [i for i in everything if i["procedure"] == "mishikyu_nenkin"]
    assert row["status"] == "guidance" and row["status_label"] == "案内のみ"
    assert row["guidance"] == procedure.guidance and row["case_number"] in client.get(url).text
    page = client.get(base + "?all=1").get_data(as_text=True)
    assert f"ご案内のみ・届出先：{procedure.guidance}" in page
    rows = list(
        csv.reader(io.StringIO(client.get(base + "worklist.csv?all=1").data.decode("utf-8-sig")))
    )
    (line,) = [r for r in rows[1:] if r[1] == "mishikyu_nenkin"]
    assert line[rows[0].index("状態")] == "案内のみ"
    assert line[rows[0].index("案内先（案内のみ）")] == procedure.guidance
    refused = client.post(f"/counter/routed/{row['id']}/done")
    assert refused.status_code == 409 and "ご案内のみ" in refused.get_data(as_text=True)
    assert client.get(base + "worklist.json?all=1").get_json()["items"] == everything
