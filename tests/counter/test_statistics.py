"""Office statistics: counts and durations of the period, as a page with charts and a CSV."""

from __future__ import annotations

import base64
import csv
import io
import re

import pytest

from tests.counter.test_routing import _issued_death_case


@pytest.fixture
def staff(login_as):
    return login_as("counter")


def test_statistics_count_cases_issue_times_sources_and_departments(client, staff):
    _issued_death_case(client)
    client.post("/counter/cases", data={"events": ["move_in"], "channel": "counter"})
    page = client.get("/counter/statistics/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="stat-cases">2件<' in body
    assert "中央値" in body and "交付 1件" in body
    charts = re.findall(
        r'<img class="chart" src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)"', body
    )
    assert [alt for _svg, alt in charts] == [
        "日ごとの受付件数（ライフイベント別）",
        "項目の出所",
        "課ごとの回付件数",
    ]
    assert b"<svg" in base64.b64decode(charts[0][0])
    assert "死亡（おくやみ）" in body and "保険年金課" in body
    assert "聞き取り（入力）" in body
    # only counts: nobody's name or answers
    assert "山田" not in body and "太郎" not in body


def test_statistics_csv_opens_in_spreadsheets_and_holds_only_counts(client, staff):
    _issued_death_case(client)
    raw = client.get("/counter/statistics/statistics.csv").data.decode("utf-8")
    assert raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff"))))
    assert rows[0][:2] == ["日付", "受付件数"]
    summary = {r[0]: r[1] for r in rows if len(r) == 2}
    assert summary["受付件数"] == "1"
    assert float(summary["交付までの時間（中央値・分）"]) >= 0
    assert "山田" not in raw


def test_an_empty_period_says_so(client, staff):
    body = client.get("/counter/statistics/?since=2020-01-01&until=2020-01-31").get_data(
        as_text=True
    )
    assert 'id="stat-cases">0件<' in body and "交付した案件はまだありません" in body


def test_form_fields_from_the_registry_count_as_not_typed(app, client, staff):
    from datetime import datetime

    from app.services.demo import load_demo

    with app.app_context():
        load_demo(now=datetime.now())
    url = client.post(
        "/counter/cases",
        data={"events": ["death"], "channel": "counter", "registry_code": "10000007919"},
    ).headers["Location"]
    client.post(url + "/roles/deceased", data={"person": "0"})
    client.post(url + "/status", data={"to": "review"})
    client.post(url + "/paper-signature")
    client.post(url + "/issue")
    audit = client.get(url + "/audit").get_data(as_text=True)
    assert "書類の欄の出所: 住民記録より" in audit
    body = client.get("/counter/statistics/").get_data(as_text=True)
    share = re.search(r'id="stat-fields-not-typed">(\d+)%', body)
    assert share and int(share.group(1)) > 0, body.split('id="stat-fields-not-typed">')[1][:200]
    assert "住民記録" in body.split('id="stat-fields-not-typed">')[1].split("</dd>")[0]
