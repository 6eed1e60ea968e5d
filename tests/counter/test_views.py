import re

import pytest


@pytest.fixture
def staff(login_as):
    return login_as("counter")


def _open(client, events=("death",)):
    response = client.post("/counter/cases", data={"events": list(events), "channel": "counter"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def test_open_case_and_see_the_first_questions(client, staff):
    url = _open(client)
    page = client.get(url).get_data(as_text=True)
    assert "受付番号" in page and "死亡（おくやみ）" in page
    assert 'data-fact="death.date"' in page


def test_opening_without_an_event_shows_the_error_next_to_the_field(client, staff):
    response = client.post("/counter/cases", data={"channel": "counter"})
    assert response.status_code == 400
    assert "ライフイベントを1つ以上選んでください" in response.get_data(as_text=True)


def test_answer_returns_new_questions_and_panel(client, staff):
    url = _open(client)
    member = client.post(url + "/members", data={"roles": ["deceased", "household_head"]})
    assert member.get_json()["person"] == 0
    response = client.post(
        url + "/answer",
        data={"fact": "death.date", "f-death-date-value": "令和7年4月7日", "revision": "0"},
    )
    body = response.get_json()
    assert body["ok"] and body["revision"] == 1
    assert "令和7年4月7日" in body["questions_html"]
    assert "必要な手続" in body["panel_html"]


def test_rows_the_screen_already_shows_come_back_as_placeholders(client, staff):
    url = _open(client)
    client.post(url + "/members", data={"roles": ["deceased", "household_head"]})
    page = client.get(url).text
    shown = dict(
        re.findall(r'data-fact="([^"]+)" data-revision="\d+" data-key="([0-9a-f]+)"', page)
    )
    assert len(shown) > 3 and "death.place" in shown
    body = client.post(
        url + "/answer",
        data={
            "fact": "death.place",
            "f-death-place-value": "みどり市立病院",
            "revision": "0",
            "shown": " ".join(shown.values()),
        },
    ).get_json()
    html = body["questions_html"]
    # The answered row is new (its state changed); every other row the page had is kept.
    assert "みどり市立病院" in html
    assert f'data-keep="{shown["death.place"]}"' not in html
    kept = set(re.findall(r'data-keep="([0-9a-f]+)"', html))
    assert kept == set(shown.values()) - {shown["death.place"]}
    # Without the list (another tab, a reload) every row comes whole.
    again = client.post(
        url + "/answer",
        data={"fact": "death.place", "f-death-place-value": "自宅", "revision": "1"},
    ).get_json()
    assert "data-keep" not in again["questions_html"]


def test_invalid_value_is_explained_and_not_stored(client, staff):
    url = _open(client)
    client.post(url + "/members", data={"roles": ["deceased"]})
    response = client.post(
        url + "/answer",
        data={"fact": "household[0].birth_date", "f-household-0-birth_date-value": "令和0年1月1日"},
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["ok"] is False and body["code"] == "invalid"
    assert (
        "household[0].birth_date"
        not in client.get(url).get_data(as_text=True).split('class="q-row asked')[0]
    )


def test_two_staff_editing_the_same_fact_do_not_overwrite_silently(client, staff):
    url = _open(client)
    first = client.post(
        url + "/answer",
        data={"fact": "death.date", "f-death-date-value": "R7.4.7", "revision": "0"},
    )
    assert first.get_json()["ok"]
    stale = client.post(
        url + "/answer",
        data={"fact": "death.date", "f-death-date-value": "R7.4.6", "revision": "0"},
    )
    body = stale.get_json()
    assert stale.status_code == 409 and body["code"] == "conflict"
    assert "先に変更しました" in body["error"] and body["revision"] == 1


def test_case_page_is_audited(client, staff):
    url = _open(client)
    client.get(url)
    page = client.get(url + "/audit").get_data(as_text=True)
    assert "聞き取り画面を表示" in page and "受付を開始" in page


def test_cancelling_a_case_hangs_up_its_call(app, client, staff, monkeypatch):
    from app.media.server import media_server

    closed = []
    with app.app_context():
        monkeypatch.setattr(media_server(app), "close_case", lambda case_id: closed.append(case_id))
    url = _open(client)
    refused = client.post(url + "/status", data={"to": "cancelled"}, follow_redirects=True)
    assert "取り消す理由を入力" in refused.get_data(as_text=True) and closed == []
    client.post(url + "/status", data={"to": "cancelled", "reason": "住民の申し出により"})
    assert closed == [int(url.rsplit("/", 1)[1])]


def test_the_panel_gives_reasons_in_words_and_no_rule_expression(client, staff):
    url = _open(client)
    page = client.get(url).get_data(as_text=True)
    panel = page.split('id="panel"', 1)[1]
    reasons = re.findall(r'<p class="reason"><strong>理由:</strong> ([^<]+)</p>', panel)
    assert reasons and all(r.strip().endswith(("ため", "。", "です")) for r in reasons), reasons
    assert "判定式を表示" not in panel and "条件式" not in panel
    assert "case.events" not in panel


def test_the_panel_marks_guidance_only_procedures_with_where_to_go(client, staff):
    # 死亡届 is written by the 届出人 (戸籍法 第86条): the counter only guides, it is not 「自動」.
    page = client.get(_open(client)).get_data(as_text=True)
    panel = page.split('id="panel"', 1)[1]
    item = re.search(r'<li class="proc" data-procedure="shibo_todoke">(.*?)</details>', panel, re.S)
    assert item, panel
    assert '<span class="badge guidance">案内のみ</span>' in item.group(1)
    assert "badge auto" not in item.group(1)
    assert "ご案内のみ（届出先：市民課（届書は届出人が記入））" in item.group(1)
