import pytest

from app.services.demo import load_demo


@pytest.fixture
def staff(app, login_as):
    from datetime import datetime

    with app.app_context():
        load_demo(now=datetime.now())
    return login_as("counter")


def test_search_by_name_and_wareki_birth_date_finds_the_household(client, staff):
    page = client.get("/counter/?name=山田太郎&birth_date=昭和23年3月2日").get_data(as_text=True)
    assert "東京都みどり市東町四丁目2番3号" in page
    assert "山田 花子" in page


def test_search_needs_name_and_birth_date_or_a_code(client, staff):
    page = client.get("/counter/?name=山田太郎").get_data(as_text=True)
    assert "氏名と生年月日の両方、または住民票コードを入力してください" in page


def test_starting_from_the_registry_prefills_and_locks_the_facts(client, staff):
    response = client.post(
        "/counter/cases",
        data={"events": ["death"], "channel": "counter", "registry_code": "10000007919"},
    )
    url = response.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "住民記録より" in page and "固定" in page
    assert "昭和23年3月2日" in page  # 山田 太郎's birth date, shown in 和暦
    # A locked fact changes only with a reason.
    refused = client.post(
        url + "/answer",
        data={"fact": "household[0].name", "f-household-0-name-value": "山田 太朗"},
    )
    assert refused.status_code == 422 and refused.get_json()["code"] == "locked"
    accepted = client.post(
        url + "/answer",
        data={
            "fact": "household[0].name",
            "f-household-0-name-value": "山田 太朗",
            "reason": "戸籍の記載に合わせる",
        },
    )
    assert accepted.get_json()["ok"]
    audit = client.get(url + "/audit").get_data(as_text=True)
    assert "戸籍の記載に合わせる" in audit and "住民記録から取り込み" in audit
    # in words: no fact ids, no Python values, no action codes
    assert "household[0]" not in audit and "registry_import" not in audit
    assert ">None<" not in audit and ">True<" not in audit and ">False<" not in audit
    assert "世帯員1　山田 太朗の氏名" in audit or "世帯員1　山田 太郎の氏名" in audit


def test_a_my_number_is_never_echoed_into_the_page(client, staff):
    url = client.post(
        "/counter/cases",
        data={"events": ["death"], "channel": "counter", "registry_code": "10000007919"},
    ).headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "900001047362" not in page
    assert "**** **** 7362" in page


def test_the_engine_asks_who_died_and_the_answer_moves_the_role(client, staff):
    url = client.post(
        "/counter/cases",
        data={"events": ["death"], "channel": "counter", "registry_code": "10000007919"},
    ).headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "故人はどなたですか" in page
    body = client.post(url + "/roles/deceased", data={"person": "0"}).get_json()
    assert body["ok"] and "故人はどなたですか" not in body["questions_html"]
    assert "故人" in body["questions_html"]
    # the 申請者 is someone outside the household: a new member gets the role
    body = client.post(url + "/roles/applicant", data={"person": "new"}).get_json()
    assert body["ok"] and body["person"] == 2
    # a single role moves to the newly chosen member
    body = client.post(url + "/roles/applicant", data={"person": "1"}).get_json()
    assert body["ok"]
    panel_facts = client.get(url + "/audit").get_data(as_text=True)
    assert "世帯員3の役割" in panel_facts
