"""Staff and resident side by side: live forms, confirm every form, sign once, get the packet."""

from __future__ import annotations

import io
import re
import statistics
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
PASSWORD = "browser-test-password"
EDITS = 20
FACT = "household[0].phone"  # printed on the forms as 電話番号 of the 届出人
SHOTS = Path(__file__).resolve().parents[2] / "instance" / "screenshots"

# In the resident's page: note when the awaited value first shows in the forms.
WATCH = """() => {
  window.__expect = null; window.__seenAt = null;
  const forms = document.getElementById("forms");
  new MutationObserver(() => {
    if (window.__expect && window.__seenAt === null && forms.textContent.includes(window.__expect)) {
      window.__seenAt = performance.timeOrigin + performance.now();
    }
  }).observe(forms, {childList: true, subtree: true, characterData: true});
}"""
# In the staff page: when the latest answer request finished (the browser's own timing).
ANSWERED_AT = """() => {
  const done = performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/answer"));
  return performance.timeOrigin + done[done.length - 1].responseEnd;
}"""


def _name(text: str) -> re.Pattern[str]:
    """Match an accessible name written with furigana (the ruby parts come out spaced)."""
    return re.compile(r"\s*".join(map(re.escape, text)))


def _login(page, live_server, staff_account):
    page.goto(live_server.url + "/login")
    page.get_by_label("職員ID").fill(staff_account("counter"))
    page.get_by_label("パスワード").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/counter/")


def test_resident_follows_live_confirms_and_signs(
    live_server, staff_account, browser, scenario_case
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    case_id = scenario_case("move_out.yaml", 1)
    staff_context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    resident_context = browser.new_context(
        locale="ja-JP", viewport={"width": 1024, "height": 768}, has_touch=False
    )
    try:
        staff = staff_context.new_page()
        staff.set_default_timeout(15000)
        _login(staff, live_server, staff_account)
        case_url = f"{live_server.url}/counter/cases/{case_id}"
        staff.goto(case_url)

        # Staff issue the join link and read out the PIN.
        staff.get_by_role("button", name="参加リンクと暗証番号を発行").click()
        join_url = staff.locator("#join-url").inner_text().strip()
        pin = staff.locator("#join-pin").inner_text().replace(" ", "")
        assert re.fullmatch(r"\d{6}", pin)
        staff.goto(case_url)

        # The resident joins on a tablet.
        resident = resident_context.new_page()
        resident.set_default_timeout(15000)
        resident.goto(join_url)
        resident.get_by_label(re.compile("暗証番号")).fill(pin)
        resident.get_by_role("button", name="入る").click()
        resident.wait_for_url(live_server.url + "/r/")
        resident.wait_for_selector("section.rform .rform-actions")
        # The interface switches to English; the forms stay Japanese.
        resident.get_by_role("button", name="English").click()
        resident.get_by_role("button", name="I have checked this form").first.wait_for()
        resident.get_by_role("button", name="日本語").click()
        resident.get_by_role("button", name=_name("この内容で確認しました")).first.wait_for()
        staff.locator("#resident-box").get_by_text("住民が画面に参加").wait_for()

        # Staff edit one fact twenty times; each new value must reach the resident's screen.
        resident.evaluate(WATCH)
        row = staff.locator(f'form.q-row[data-fact="{FACT}"]')
        latencies = []
        for i in range(EDITS):
            value = f"090-7000-{1000 + i}"
            resident.evaluate("(v) => { window.__expect = v; window.__seenAt = null; }", value)
            with staff.expect_response(re.compile(r"/answer$")) as answered:
                row.locator("input").fill(value)
                row.locator("input").press("Enter")
            assert answered.value.ok
            resident.wait_for_function("() => window.__seenAt !== null", timeout=5000)
            seen = resident.evaluate("() => window.__seenAt")
            latencies.append(seen - staff.evaluate(ANSWERED_AT))
            row = staff.locator(f'form.q-row[data-fact="{FACT}"]')
        p95 = statistics.quantiles(latencies, n=20)[-1]
        print(
            f"\nlive update latency over {EDITS} edits: "
            f"median {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms, "
            f"max {max(latencies):.0f} ms"
        )
        assert p95 < 1000, latencies
        assert resident.locator(".just-changed").count() >= 1  # the change is highlighted

        # The tablet loses its connection while staff keep editing: it says so, and on
        # reconnecting it catches up (Last-Event-ID) with what changed meanwhile.
        resident_context.set_offline(True)
        resident.get_by_text("接続が切れました。再接続しています…").wait_for()
        with staff.expect_response(re.compile(r"/answer$")):
            row.locator("input").fill("090-7000-9999")
            row.locator("input").press("Enter")
        resident_context.set_offline(False)
        resident.locator("#forms").get_by_text("090-7000-9999").first.wait_for()
        resident.get_by_text("接続が切れました").wait_for(state="hidden")
        resident.screenshot(path=str(SHOTS / "resident-review.png"))

        # A correction request reaches the staff member's screen.
        first = resident.locator("section.rform").first
        first.locator("button.entry").first.click()
        resident.get_by_label(re.compile("どこをどう")).fill("名前の漢字が違います")
        resident.screenshot(path=str(SHOTS / "resident-ask.png"))
        resident.locator("#ask-send").click()
        staff.locator("#resident-box").get_by_text("名前の漢字が違います").wait_for()
        staff.locator("#resident-box").screenshot(path=str(SHOTS / "staff-resident-box.png"))
        resident.locator("section.rform").nth(1).screenshot(path=str(SHOTS / "resident-form.png"))

        # Staff move the case to the resident's review; the resident confirms every form.
        staff.get_by_role("button", name="住民確認へ進める").click()
        resident.locator("#sign-wait").wait_for(state="visible")
        for section in resident.locator("section.rform").all():
            section.get_by_role("button", name=_name("この内容で確認しました")).click()
            section.locator(".rform-state", has_text="✔").wait_for()
        resident.locator("#sign-ready").wait_for(state="visible")

        # An empty pad is refused; then a drawn stroke is signed.
        resident.get_by_role("button", name=_name("この署名で提出する")).click()
        resident.get_by_text("署名が書かれていません").first.wait_for()
        pad = resident.locator("#signature-pad")
        pad.scroll_into_view_if_needed()
        box = pad.bounding_box()
        resident.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.7)
        resident.mouse.down()
        for step in range(1, 30):
            x = box["x"] + box["width"] * (0.1 + 0.8 * step / 29)
            y = box["y"] + box["height"] * (0.5 + 0.3 * ((-1) ** step) * (step % 5) / 5)
            resident.mouse.move(x, y, steps=2)
        resident.mouse.up()
        resident.screenshot(path=str(SHOTS / "resident-sign.png"))
        resident.get_by_role("button", name=_name("この署名で提出する")).click()
        resident.wait_for_url(live_server.url + "/r/receipt", timeout=30000)
        resident.screenshot(path=str(SHOTS / "resident-receipt.png"), full_page=True)

        with resident.expect_download() as download:
            resident.get_by_role("link", name=_name("署名した書類")).click()
        packet_path = Path(download.value.path())
        packet = packet_path.read_bytes()
        # Sealed: `flask documents verify` (pyhanko) on the server's instance says so.
        assert ": valid: sealed by" in live_server.flask("documents", "verify", str(packet_path))
        with resident.expect_download() as cover:
            resident.get_by_role("link", name=_name("これからの案内")).click()
        assert Path(cover.value.path()).read_bytes().startswith(b"%PDF")
        assert _has_drawn_signature(packet)

        # The resident's case page is gone; staff see the sealed packet on the case.
        assert resident.goto(live_server.url + "/r/").status == 410
        staff.goto(case_url)
        staff.get_by_role("link", name="署名・封印済みの書類一式（PDF）").wait_for()
    finally:
        resident_context.close()
        staff_context.close()


def _has_drawn_signature(pdf: bytes) -> bool:
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        sizes = [
            (int(img.get("/Width")), int(img.get("/Height")))
            for page in doc.pages
            for img in page.get_images().values()
        ]
    # The footer QR codes are square; the drawn signature is a wide strip.
    return any(w > 2 * h for w, h in sizes)
