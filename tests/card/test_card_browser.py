"""The staff confirmation of a card reading, in Chromium, against the real server and agent."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.cardagent import client as agent_client
from app.cardagent.__main__ import prompt_secret, read_once
from tests.e2e.conftest import PASSWORD, LiveServer

pytestmark = [pytest.mark.card, pytest.mark.browser]


@pytest.fixture
def card_server(tmp_path: Any, issuer: Any, ministry: Any) -> Iterator[LiveServer]:
    anchors = tmp_path / "jlis.pem"
    anchors.write_bytes(issuer.anchor_pem())
    isa = tmp_path / "isa.pem"
    isa.write_bytes(ministry.anchor_pem())
    server = LiveServer(tmp_path / "instance")
    server.instance.mkdir()
    server.env["KAKANAI_CARD_TRUST_ANCHORS"] = str(anchors)
    server.env["KAKANAI_RESIDENCE_CARD_TRUST_ANCHORS"] = str(isa)
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
    panel.get_by_text("マイナンバーカード・在留カードの読み取り").click()
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


def test_staff_see_the_residence_card_images_and_confirm_typed_values(
    card_server, card_page, insert_card
):
    page = card_page
    page.goto(card_server.url + "/login")
    page.get_by_label("職員ID").fill("card-staff")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(card_server.url + "/counter/")
    page.get_by_label("転入（他の市区町村から）").check()
    page.get_by_role("button", name="受付を開始する").click()
    page.wait_for_url(re.compile(r"/counter/cases/\d+$"))
    case_id = int(page.url.rsplit("/", 1)[1])
    panel = page.locator("#card-panel")
    panel.get_by_text("マイナンバーカード・在留カードの読み取り").click()
    panel.get_by_text("読取端末を登録する").click()
    panel.get_by_label("窓口名").fill("4番窓口")
    panel.get_by_role("button", name="登録コードを発行").click()
    shown = panel.locator(".card-pairing-code")
    shown.get_by_text("登録コード:").wait_for()
    code = re.search(r"登録コード: ([A-Z0-9]{8})", shown.inner_text()).group(1)
    send = agent_client.https_sender(card_server.url)
    credential = agent_client.pair(send, card_server.url, code, "受付PC-4")

    page.reload()
    panel = page.locator("#card-panel")
    number = panel.get_by_label("在留カード番号（券面右上の12文字）")
    assert not number.is_visible()  # only asked for the 在留カード route
    panel.get_by_label("読み取り方法").select_option("zairyu")
    number.fill("AB12345678CD")
    panel.get_by_role("button", name="カードを読み取る").click()
    panel.get_by_text("カードをかざしてください").wait_for()

    session = agent_client.poll(send, credential)
    assert session["wanted"] == {"route": "zairyu"} and session["card_number"] == "AB12345678CD"
    insert_card(residence=True)
    status, reply = read_once(
        send,
        credential,
        case_id,
        "zairyu",
        prompt_secret("zairyu", session["card_number"]),
        timeout=10,
    )
    assert status == 200, reply

    panel.get_by_text("読み取りました。券面と本人を確認してから取り込んでください。").wait_for()
    residence = panel.locator(".card-residence")
    text = residence.inner_text()
    assert "在留カード" in text and "AB＊＊＊＊＊＊＊＊CD" in text
    assert "東京都千代田区霞が関一丁目1番1号" in text
    assert "AB12345678CD" not in page.content()
    for selector in (".card-image-face", ".card-image-front"):
        image = residence.locator(selector)
        image.wait_for()
        # The browser decoded it (PNG converted on the server from JPEG 2000 / TIFF).
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert not panel.get_by_role("button", name="個人番号を表示（記録されます）").is_visible()
    panel.get_by_label("在留資格").fill("技術・人文知識・国際業務")
    panel.get_by_label("在留期間", exact=True).fill("5年")
    panel.get_by_label("在留期間の満了の日").fill("2029-04-01")
    if os.environ.get("KAKANAI_SCREENSHOTS"):  # to look at the panel as staff see it
        page.screenshot(
            path=str(Path(os.environ["KAKANAI_SCREENSHOTS"]) / "card-residence.png"),
            full_page=True,
        )
    with page.expect_navigation():
        panel.get_by_role("button", name="券面と本人を確認して取り込む").click()
    page.wait_for_load_state()
    # Now facts of the case, shown in the interview like its other personal facts.
    questions = page.locator("#questions").inner_text()
    assert "技術・人文知識・国際業務" in questions
    audit = card_server.flask("cardagents", "list")
    assert "4番窓口" in audit
