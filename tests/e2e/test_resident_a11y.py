"""Accessibility of the resident's screens as a test: axe-core in the real Chromium, plus the
checks axe cannot make (smallest text, reflow at 320 px, visible focus, reading order).

axe-core comes inside the axe-playwright-python wheel (PyPI; axe.min.js is in the package),
so nothing is downloaded while the tests run. Every page state is checked at a 1024×768
tablet, a 390×844 phone and at 200 % zoom (a 512×384 CSS viewport at device scale 2, which
is what a browser's 200 % zoom gives the layout).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.a11y]

SHOTS = ROOT / "instance" / "screenshots"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
VIEWPORTS = {
    "tablet": ({"width": 1024, "height": 768}, 1),
    "phone": ({"width": 390, "height": 844}, 3),
    "zoom200": ({"width": 512, "height": 384}, 2),
}

# Runs inside the live server's environment: a case holding a scenario's facts (or only
# its life events, for the waiting screen), optionally in 住民確認, with a join link.
OPEN_CASE = """
import json, sys
from datetime import datetime
from sqlalchemy import select
from app import create_app
from app.extensions import db
from app.models import StaffUser
from app.services.cases import change_status, open_case, record_fact
from app.services.joining import issue_join_link
from tests.resident.conftest import _json, scenario_facts

app = create_app()
with app.app_context():
    staff = db.session.scalar(select(StaffUser).where(StaffUser.username == sys.argv[1]))
    facts, as_of = scenario_facts(sys.argv[2], int(sys.argv[3]))
    now = datetime.now()
    case = open_case(staff.id, list(facts["case.events"]), "remote", as_of, now, staff.username)
    if sys.argv[4] != "empty":
        for fact_id, value in facts.items():
            if fact_id != "case.events":
                record_fact(case, fact_id, _json(value), actor="e2e", now=now, commit=False)
        db.session.commit()
    if sys.argv[4] == "review":
        change_status(case, "review", actor="e2e", now=now)
    link = issue_join_link(case, actor=staff.username, now=now, minutes=30)
    print(json.dumps({"case_id": case.id, "token": link.token, "pin": link.pin}))
"""


def open_case(server, username: str, mode: str, file="move_out.yaml", index=1) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", OPEN_CASE, username, file, str(index), mode],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _name(text: str) -> re.Pattern[str]:
    """Match an accessible name written with furigana (the ruby parts come out spaced)."""
    return re.compile(r"\s*".join(map(re.escape, text)))


AXE = Axe()


def axe_violations(page, state: str) -> list[str]:
    """Run axe-core with the WCAG A/AA tags; return each violation as one readable line."""
    results = AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert results.response["passes"], "axe-core did not run"
    out = []
    for v in results.response["violations"]:
        targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:3]]
        out.append(f"{state}: {v['id']} ({v['impact']}): {v['help']} at {targets}")
    return out


# The smallest rendered text of the reading view: labels (without their furigana) and values.
SMALLEST = """() => {
  const px = (sel) => Array.from(document.querySelectorAll(sel))
    .filter((el) => el.offsetParent !== null)
    .map((el) => parseFloat(getComputedStyle(el).fontSize));
  const labels = px(".entry-label"), values = px(".entry-value");
  return {labels: labels.length ? Math.min(...labels) : null,
          values: values.length ? Math.min(...values) : null, count: values.length};
}"""
OVERFLOW = """() => ({scroll: document.documentElement.scrollWidth,
                      client: document.documentElement.clientWidth})"""
# After a Tab press: the focused element and whether it shows a focus indicator.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const visible = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2) ||
                  (s.boxShadow && s.boxShadow !== "none");
  const r = el.getBoundingClientRect();
  return {tag: el.tagName, text: (el.textContent || "").trim().slice(0, 30),
          id: el.id, cls: el.className, visible, w: r.width, h: r.height};
}"""


def tab_through(page, limit: int = 400) -> list[dict]:
    """Press Tab until focus comes back round; return what had focus, in order."""
    seen = []
    page.locator("body").focus()
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = page.evaluate(FOCUSED)
        if info is None:
            continue
        key = (info["tag"], info["id"], info["text"], info["cls"])
        if seen and key == seen[0]["key"]:
            break
        info["key"] = key
        seen.append(info)
    return seen


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"a11y-{name}.png"), full_page=False)


@pytest.mark.parametrize("view", list(VIEWPORTS))
def test_every_resident_state_passes_axe_and_reads_large(live_server, staff_account, browser, view):
    viewport, scale = VIEWPORTS[view]
    context = browser.new_context(
        locale="ja-JP", viewport=viewport, device_scale_factor=scale, has_touch=view == "phone"
    )
    problems: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        staff = staff_account("counter")

        # The PIN page.
        waiting = open_case(live_server, staff, "empty")
        page.goto(f"{live_server.url}/join/{waiting['token']}")
        problems += axe_violations(page, f"{view}/pin")
        shoot(page, f"{view}-pin")
        page.get_by_label(re.compile("暗証番号")).fill(waiting["pin"])
        page.get_by_role("button", name="入る").click()
        page.wait_for_url(live_server.url + "/r/")

        # Waiting: no video box, the sentence that says what is happening, the toggle.
        page.locator('#task [data-next="wait_forms"]').wait_for()
        assert page.get_by_role("status").filter(has_text="できた").count() >= 1
        assert page.locator("#call").is_hidden()
        assert page.locator("video:visible").count() == 0
        assert page.get_by_role("button", name="English").is_visible()
        problems += axe_violations(page, f"{view}/waiting")
        shoot(page, f"{view}-waiting")
        page.get_by_role("button", name="English").click()
        page.get_by_text("The staff member is preparing your forms").wait_for()
        problems += axe_violations(page, f"{view}/waiting-en")
        page.get_by_role("button", name="日本語").click()

        # A case in review with its forms.
        case = open_case(live_server, staff, "review")
        page.goto(f"{live_server.url}/join/{case['token']}")
        page.get_by_label(re.compile("暗証番号")).fill(case["pin"])
        page.get_by_role("button", name="入る").click()
        page.wait_for_url(live_server.url + "/r/")
        page.wait_for_selector("section.rform .rform-actions")
        forms = page.locator("section.rform")
        assert forms.count() >= 3
        # The first screen says what to do, with one large button, above the fold.
        go = page.get_by_role("button", name=_name("書類を確認する"))
        assert go.is_visible()
        assert go.bounding_box()["y"] + go.bounding_box()["height"] <= viewport["height"] * 1.5
        problems += axe_violations(page, f"{view}/forms")
        shoot(page, f"{view}-forms")
        go.click()
        shoot(page, f"{view}-first-form")

        # Reading view: large text, no sideways scrolling.
        sizes = page.evaluate(SMALLEST)
        assert sizes["count"] > 20
        assert sizes["values"] >= 18, sizes
        assert sizes["labels"] >= 16, sizes
        width = page.evaluate(OVERFLOW)
        assert width["scroll"] <= width["client"], width
        # The identification is hidden behind 「書類の識別情報」 and opens on demand.
        ids = forms.first.locator("details.rform-ids")
        assert not ids.get_attribute("open")
        assert ids.locator("dd.hash").nth(1).is_hidden()
        ids.locator("summary").click()
        assert re.fullmatch(r"[0-9a-f]{64}", ids.locator("dd.hash").nth(1).inner_text().strip())
        ids.locator("summary").click()

        # The ask dialog from an entry.
        forms.first.locator("button.entry").first.click()
        page.get_by_label(re.compile("どこをどう")).wait_for()
        problems += axe_violations(page, f"{view}/ask")
        shoot(page, f"{view}-ask")
        page.locator("#ask-cancel").click()

        # The page image, full screen.
        forms.first.locator("button.page-open").click()
        page.locator("#page-view .kform").wait_for()
        problems += axe_violations(page, f"{view}/page-image")
        shoot(page, f"{view}-page-image")
        page.locator("#page-close").click()

        # Confirm every form; then the signature.
        for section in forms.all():
            section.get_by_role("button", name=_name("この内容で確認しました")).click()
            section.locator(".rform-state", has_text="✔").wait_for()
            assert section.locator("button.confirm").inner_text().startswith("✔")
        page.locator("#sign-ready").wait_for(state="visible")
        page.get_by_role("button", name=_name("署名へ進む")).wait_for()
        problems += axe_violations(page, f"{view}/signature")
        shoot(page, f"{view}-signature")

        # In English, the whole interface switches; the forms stay Japanese.
        page.get_by_role("button", name="English").click()
        page.get_by_role("heading", name="Checking your forms").wait_for()
        problems += axe_violations(page, f"{view}/signature-en")
        shoot(page, f"{view}-english")
        page.get_by_role("button", name="日本語").click()

        # Keyboard: every control takes focus and shows it.
        focused = tab_through(page)
        assert any("entry" in str(f["cls"]) for f in focused)
        invisible = [f for f in focused if not f["visible"] and f["w"] > 0]
        assert not invisible, invisible
        # Reading order: what to do, then the forms in order, then the signature.
        order = page.evaluate(
            """() => Array.from(document.querySelectorAll("h1, h2")).filter((h) => h.offsetParent)
                 .map((h) => h.id || h.closest("section")?.id || h.tagName)"""
        )
        assert order.index("task-title") < order.index("sign-title")
        assert [o for o in order if o.startswith("rf-")] == [
            h for h in page.locator("section.rform h2").evaluate_all("(hs) => hs.map((h) => h.id)")
        ]

        # Sign by keyboard alone: type the name, Tab to the button, Enter.
        page.locator("#typed-name").focus()
        page.keyboard.type("杉本 浩二")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "sign-typed"
        page.keyboard.press("Enter")
        page.wait_for_url(live_server.url + "/r/receipt", timeout=30000)
        page.get_by_role("heading", name=_name("このあと行くところ")).wait_for()
        assert page.locator("ol.directions li").count() >= 1
        problems += axe_violations(page, f"{view}/receipt")
        shoot(page, f"{view}-receipt")
        width = page.evaluate(OVERFLOW)
        assert width["scroll"] <= width["client"], width
        page.get_by_role("button", name="English").click()
        page.get_by_role("heading", name="Where to go next, in order").wait_for()
        problems += axe_violations(page, f"{view}/receipt-en")
        page.get_by_role("button", name="日本語").click()

        # The join code page (from home).
        page.goto(f"{live_server.url}/join")
        problems += axe_violations(page, f"{view}/join-code")
        page.get_by_label(re.compile("参加コード")).fill("ABC")
        page.get_by_role("button", name=_name("次へ")).click()
        page.get_by_role("alert").wait_for()
        problems += axe_violations(page, f"{view}/join-code-error")
        shoot(page, f"{view}-join-code-error")
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_axe_finds_what_it_should(browser):
    """The checker itself: a page with an unnamed image and a low-contrast text fails."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content(
            '<html lang="ja"><body><main><img src="x.png">'
            '<p style="color:#bbb;background:#fff">薄い文字</p></main></body></html>'
        )
        found = " ".join(axe_violations(page, "bad"))
        assert "image-alt" in found and "color-contrast" in found
    finally:
        context.close()


KIOSK = """
import sys
from datetime import datetime
from app import create_app
from app.services.joining import register_kiosk
app = create_app()
with app.app_context():
    kiosk, code = register_kiosk("本庁舎 1階 キオスク", actor="e2e", now=datetime.now())
    print(code)
"""


@pytest.mark.parametrize("view", list(VIEWPORTS))
def test_kiosk_and_the_staff_join_box_pass_axe(live_server, staff_account, browser, view):
    from tests.e2e.conftest import PASSWORD

    viewport, scale = VIEWPORTS[view]
    problems: list[str] = []
    context = browser.new_context(locale="ja-JP", viewport=viewport, device_scale_factor=scale)
    try:
        page = context.new_page()
        code = (
            subprocess.run(
                [sys.executable, "-c", KIOSK],
                cwd=ROOT,
                env=live_server.env,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        # The tablet is set up once with the one-time code typed in (never in a URL).
        page.goto(f"{live_server.url}/kiosk/setup")
        problems += axe_violations(page, f"{view}/kiosk-setup")
        page.get_by_label("設定コード").fill(code)
        page.get_by_role("button", name="この端末を設定する").click()
        page.wait_for_url(live_server.url + "/kiosk")
        problems += axe_violations(page, f"{view}/kiosk")
        shoot(page, f"{view}-kiosk")
    finally:
        context.close()
    staff = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    try:
        page = staff.new_page()
        case = open_case(live_server, staff_account("counter"), "review")
        page.goto(live_server.url + "/login")
        page.get_by_label("職員ID").fill(staff_account("counter"))
        page.get_by_label("パスワード").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(live_server.url + "/counter/")
        page.goto(f"{live_server.url}/counter/cases/{case['case_id']}")
        page.get_by_role("button", name="QRコードと参加コードを発行").click()
        page.locator("#join-box-code").wait_for()
        code = page.locator("#join-box-code").inner_text()
        assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
        results = AXE.run(
            page,
            context={"include": [["#join-box"]]},
            options={"runOnly": {"type": "tag", "values": WCAG_TAGS}},
        )
        problems += [
            f"staff/join-box: {v['id']}: {v['help']}" for v in results.response["violations"]
        ]
        page.locator("#join-box").screenshot(path=str(SHOTS / "a11y-staff-join-box.png"))
    finally:
        staff.close()
    assert not problems, "\n".join(problems)


def test_phone_reflows_at_320_css_px(live_server, staff_account, browser):
    """WCAG 1.4.10: at 320 CSS px (or 1280 px at 400 %) nothing needs sideways scrolling."""
    context = browser.new_context(locale="ja-JP", viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        case = open_case(live_server, staff_account("counter"), "review")
        page.goto(f"{live_server.url}/join/{case['token']}")
        page.get_by_label(re.compile("暗証番号")).fill(case["pin"])
        page.get_by_role("button", name="入る").click()
        page.wait_for_selector("section.rform .rform-actions")
        width = page.evaluate(OVERFLOW)
        assert width["scroll"] <= width["client"], width
        sizes = page.evaluate(SMALLEST)
        assert sizes["values"] >= 18 and sizes["labels"] >= 16, sizes
        shoot(page, "reflow-320")
    finally:
        context.close()
