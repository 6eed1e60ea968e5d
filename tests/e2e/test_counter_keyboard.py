"""The counter workspace at the desk: the panel in view beside the questions, and the
interview run by keyboard without the cursor ever being lost."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_counter_journeys import _login, _settled

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "instance" / "screenshots"


@pytest.fixture
def desk(browser):
    """A page the size of a counter PC's screen (1366×768)."""
    context = browser.new_context(locale="ja-JP", viewport={"width": 1366, "height": 768})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    """A page as narrow as a phone (390 px)."""
    context = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    page = context.new_page()
    yield page
    context.close()


def _open_registry_death(page, live_server, staff_account):
    live_server.flask("demo", "load")
    _login(page, live_server, staff_account)
    page.get_by_label("氏名（漢字またはカナ）").fill("ヤマダ タロウ")
    page.get_by_label("生年月日").fill("S23.3.2")
    page.keyboard.press("Enter")
    page.get_by_text("東京都みどり市東町四丁目2番3号").wait_for()
    page.get_by_label("死亡（おくやみ）").check()
    page.get_by_role("button", name="受付を開始する").click()
    page.wait_for_url(re.compile(r"/counter/cases/\d+$"))


def _in_view(page, selector):
    """Whether the element's top part is inside the viewport (at least 200 px of it)."""
    return page.evaluate(
        """(sel) => {
            const r = document.querySelector(sel).getBoundingClientRect();
            const visible = Math.min(r.bottom, innerHeight) - Math.max(r.top, 0);
            return r.left < innerWidth && r.right > 0 && visible >= Math.min(200, r.height);
        }""",
        selector,
    )


def _focused_row(page):
    return page.evaluate(
        """() => {
            const form = document.activeElement.closest("form");
            return form ? (form.dataset.fact || form.className) : document.activeElement.tagName;
        }"""
    )


def test_panel_stays_beside_the_questions_at_1366x768(live_server, staff_account, desk):
    _open_registry_death(desk, live_server, staff_account)
    SHOTS.mkdir(parents=True, exist_ok=True)
    desk.screenshot(path=str(SHOTS / "counter-1366.png"))
    assert _in_view(desk, "#panel")
    panel = desk.locator("#panel").bounding_box()
    questions = desk.locator("#questions").bounding_box()
    assert panel["x"] > questions["x"] + questions["width"] - 1, "the panel is beside the questions"
    # No call: the call pane is a strip, not two video frames.
    assert desk.locator("#call").bounding_box()["height"] < 90
    # Scrolled far down the interview, the panel is still in view, with its own scroll area.
    desk.locator("form.member-form").scroll_into_view_if_needed()
    assert desk.evaluate("scrollY") > 300
    assert _in_view(desk, "#panel")
    assert desk.locator("#panel").evaluate("e => getComputedStyle(e).overflowY") == "auto"
    desk.screenshot(path=str(SHOTS / "counter-1366-scrolled.png"))
    # Rows fixed from the registry are no Tab stops until their section opens them.
    locked = desk.locator("form.q-row.locked details.unlock > summary")
    assert locked.count() > 0
    assert (
        desk.locator("form.q-row.locked details.unlock > summary:not([tabindex='-1'])").count() == 0
    )
    section = desk.locator("section.q-section", has=desk.locator("form.q-row.locked")).first
    section.locator("button.unlock-all").press("Enter")
    assert section.locator("details.unlock > summary[tabindex='0']").count() > 0
    expect(section.locator("details.unlock > summary").first).to_be_focused()


def test_narrow_screen_puts_the_panel_below_with_a_summary_in_view(
    live_server, staff_account, phone
):
    _open_registry_death(phone, live_server, staff_account)
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SHOTS / "counter-390.png"))
    panel = phone.locator("#panel").bounding_box()
    questions = phone.locator("#questions").bounding_box()
    assert panel["y"] >= questions["y"] + questions["height"] - 1, "the panel is below"
    summary = phone.locator("#panel [data-summary]")
    expect(summary).to_be_in_viewport()
    assert re.search(r"必要な手続 \d+件", summary.inner_text())
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_role_is_chosen_with_arrows_and_enter_and_focus_moves_on(live_server, staff_account, desk):
    _login(desk, live_server, staff_account)
    desk.get_by_label("死亡（おくやみ）").check()
    desk.get_by_role("button", name="受付を開始する").click()
    desk.wait_for_url(re.compile(r"/counter/cases/\d+$"))
    # Two members, added by keyboard: focus comes back into the interview each time.
    for role in ("故人", "配偶者"):
        form = desk.locator("form.member-form")
        form.get_by_label(role, exact=True).check()
        with desk.expect_response(re.compile(r"/members$")):
            form.get_by_role("button", name="追加する").press("Enter")
        _settled(desk)
        assert _focused_row(desk) != "BODY", "focus was lost after adding a member"
        assert desk.evaluate("document.activeElement.closest('form.q-row.asked, form.role-row')")
    role = desk.locator("form.role-row").first
    expect(role).to_be_visible()
    label = role.locator("label").inner_text()
    select = role.locator("select")
    select.focus()
    requests = []
    desk.on("request", lambda r: requests.append(r.url) if "/roles/" in r.url else None)
    desk.keyboard.press("ArrowDown")
    desk.keyboard.press("ArrowDown")
    desk.wait_for_timeout(300)
    assert requests == [], "an arrow key committed the role"
    expect(role.locator(".q-msg")).to_contain_text("Enterで決定")
    chosen = select.evaluate("s => s.selectedOptions[0].textContent.trim()")
    with desk.expect_response(re.compile(r"/roles/")):
        desk.keyboard.press("Enter")
    _settled(desk)
    expect(desk.locator("#announce")).to_contain_text(chosen)
    expect(desk.locator("#announce")).to_contain_text(label.replace("はどなたですか", ""))
    assert desk.evaluate("document.activeElement.closest('form.q-row.asked, form.role-row')")


def test_focus_goes_to_the_next_open_question_after_each_save(live_server, staff_account, desk):
    _login(desk, live_server, staff_account)
    desk.get_by_label("死亡（おくやみ）").check()
    desk.get_by_role("button", name="受付を開始する").click()
    desk.wait_for_url(re.compile(r"/counter/cases/\d+$"))
    first = desk.locator("form.q-row.asked").first
    first_fact = first.get_attribute("data-fact")
    first.locator("input:not([type=hidden]), select").first.focus()
    # A date typed and Enter: the cursor is on another open question, never on <body>.
    row = desk.locator('form.q-row[data-fact="death.place"]')
    row.locator("input").focus()
    with desk.expect_response(re.compile(r"/answer$")):
        desk.keyboard.type("みどり市立病院")
        desk.keyboard.press("Enter")
    _settled(desk)
    focused = _focused_row(desk)
    assert focused not in ("BODY", "death.place"), focused
    assert desk.evaluate("!!document.activeElement.closest('form.q-row.asked, form.role-row')")
    # The question answered first is still open and reachable: Alt+N cycles to open ones.
    assert first_fact
    desk.keyboard.press("Alt+N")
    assert desk.evaluate("!!document.activeElement.closest('form.q-row.asked, form.role-row')")
    desk.keyboard.press("Alt+P")
    expect(desk.locator("#proc-h")).to_be_focused()


def test_a_ticked_life_event_survives_a_registry_search(live_server, staff_account, desk):
    live_server.flask("demo", "load")
    _login(desk, live_server, staff_account)
    desk.get_by_label("死亡（おくやみ）").check()
    desk.get_by_label("氏名（漢字またはカナ）").fill("ヤマダ タロウ")
    desk.get_by_label("生年月日").fill("S23.3.2")
    desk.get_by_label("生年月日").press("Enter")
    desk.get_by_text("東京都みどり市東町四丁目2番3号").wait_for()
    expect(desk.get_by_label("死亡（おくやみ）")).to_be_checked()
    # the found household has the cursor: Tab, Enter opens the death case
    expect(desk.locator("input[name=registry_code]").first).to_be_focused()
    desk.keyboard.press("Tab")
    with desk.expect_navigation():
        desk.keyboard.press("Enter")
    assert re.search(r"/counter/cases/\d+$", desk.url)
    assert desk.get_by_text("住民記録より").first.is_visible()


def test_a_question_an_answer_opens_above_the_cursor_gets_the_cursor(
    live_server, staff_account, desk
):
    _open_registry_death(desk, live_server, staff_account)
    # Answer the role questions the case starts with (by keyboard: arrows, Enter).
    for _ in range(6):
        role = desk.locator("form.role-row").first
        if not role.count():
            break
        select = role.locator("select")
        select.focus()
        holder = "0" if "deceased" in role.get_attribute("data-url") else "1"
        index = select.evaluate("(s, v) => [...s.options].findIndex(o => o.value === v)", holder)
        for _step in range(index):
            desk.keyboard.press("ArrowDown")
        with desk.expect_response(re.compile(r"/roles/")):
            desk.keyboard.press("Enter")
        _settled(desk)
    open_before = set(
        desk.eval_on_selector_all(
            "form.q-row.asked, form.role-row", "fs => fs.map(f => f.dataset.fact || f.dataset.url)"
        )
    )
    desk.locator('form.q-row[data-fact="death.date"] input').focus()
    with desk.expect_response(re.compile(r"/answer$")):
        desk.keyboard.type("R8.11.20")
        desk.keyboard.press("Enter")
    _settled(desk)
    # 喪主 (who held the funeral) is asked once the death is dated: above death.date.
    opened = desk.evaluate(
        """(before) => {
            const rows = [...document.querySelectorAll("form.q-row.asked, form.role-row")];
            const date = document.querySelector('form.q-row[data-fact="death.date"]');
            return rows.filter((f) => !before.includes(f.dataset.fact || f.dataset.url)
                && (f.compareDocumentPosition(date) & Node.DOCUMENT_POSITION_FOLLOWING))
                .map((f) => f.dataset.fact || f.dataset.url);
        }""",
        sorted(open_before),
    )
    assert opened, "no question opened above death.date: the test needs another example"
    focused = desk.evaluate(
        "() => { const f = document.activeElement.closest('form'); return f && (f.dataset.fact || f.dataset.url); }"
    )
    assert focused == opened[0]
