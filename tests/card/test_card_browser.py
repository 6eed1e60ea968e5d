"""The staff confirmation of a card reading, in Chromium, against the real server and agent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from app.cardagent import client as agent_client
from app.cardagent.__main__ import read_once
from tests.e2e.conftest import PASSWORD, LiveServer

pytestmark = [pytest.mark.card, pytest.mark.browser]


@pytest.fixture
def card_server(tmp_path: Any, issuer: Any) -> Iterator[LiveServer]:
    anchors = tmp_path / "jlis.pem"
    anchors.write_bytes(issuer.anchor_pem())
    server = LiveServer(tmp_path / "instance")
    server.instance.mkdir()
    server.env["KAKANAI_CARD_TRUST_ANCHORS"] = str(anchors)
    server.start()
    server.flask("demo", "load")
    server.flask("users", "create", "--role", "counter", "--password", PASSWORD, "card-staff")
    yield server
    server.stop()


@pytest.fixture
def card_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def test_staff_pair_an_agent_read_a_card_and_confirm_it(card_server, card_page, insert_card):
    page = card_page
    page.goto(card_server.url + "/login")
    page.get_by_label("職員ID").fill("card-staff")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(card_server.url + "/counter/")
    page.get_by_label("死亡（おくやみ）").check()
    page.get_by_role("button", name="受付を開始する").click()
    page.wait_for_url(re.compile(r"/counter/cases/\d+$"))
    case_id = int(page.url.rsplit("/", 1)[1])

    panel = page.locator("#card-panel")
    # No reader registered yet: the card panel is folded so the interview starts high up.
    panel.get_by_text("マイナンバーカードの読み取り").click()
    panel.get_by_text("読取端末を登録する").click()
    panel.get_by_label("窓口名").fill("3番窓口")
    panel.get_by_role("button", name="登録コードを発行").click()
    shown = panel.locator(".card-pairing-code")
    shown.get_by_text("登録コード:").wait_for()
    code = re.search(r"登録コード: ([A-Z0-9]{8})", shown.inner_text()).group(1)
    send = agent_client.https_sender(card_server.url)
    credential = agent_client.pair(send, card_server.url, code, "受付PC-3")

    page.reload()
    panel = page.locator("#card-panel")
    panel.get_by_label("読み取り方法").select_option("pin")
    panel.get_by_role("button", name="カードを読み取る").click()
    panel.get_by_text("カードをかざしてください").wait_for()

    session = agent_client.poll(send, credential)
    assert session["case_id"] == case_id and session["wanted"] == {"route": "pin"}
    insert_card()
    status, reply = read_once(send, credential, case_id, "pin", lambda left: "1234", timeout=10)
    assert status == 200, reply

    panel.get_by_text("読み取りました。券面と本人を確認してから取り込んでください。").wait_for()
    table = panel.locator(".card-result")
    assert "**** **** 9018" in table.inner_text()
    assert "123456789018" not in page.content()
    assert "番号　花子" in table.inner_text()
    panel.get_by_role("button", name="個人番号を表示（記録されます）").click()
    panel.get_by_text("123456789018").wait_for()
    with page.expect_navigation():
        panel.get_by_role("button", name="券面と本人を確認して取り込む").click()
    # After the reload the card table is empty again: the name now comes from the case.
    page.wait_for_load_state()
    assert "番号　花子" in page.locator("#questions").inner_text()
    assert "123456789018" not in page.content()
    audit = card_server.flask("cardagents", "list")
    assert "3番窓口" in audit and "active" in audit
