"""Staff pages pass axe-core too (issue #17: "and on every staff and kiosk page").

The counter dashboard, a case in the interview, its audit trail, the worklists, bookings
and statistics; the policy workspace; the admin page; and login — each at a 1366×768
desktop, a 390×844 phone and at 200 % zoom (a 683×384 CSS viewport at device scale 2, what
a browser's 200 % zoom of the desktop gives the layout), with the WCAG 2.0/2.1/2.2 A and AA
tags: zero violations. The login page and the worklists also reflow at 320 CSS px without
sideways scrolling (WCAG 1.4.10); the interview screen is a two-pane desk tool and is only
required to reflow down to the phone width.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import PASSWORD
from tests.e2e.test_resident_a11y import OVERFLOW, SHOTS, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.a11y]

VIEWPORTS = {
    "desktop": ({"width": 1366, "height": 768}, 1),
    "phone": ({"width": 390, "height": 844}, 3),
    "zoom200": ({"width": 683, "height": 384}, 2),
}


def _context(browser, view: str):
    viewport, scale = VIEWPORTS[view]
    return browser.new_context(
        locale="ja-JP", viewport=viewport, device_scale_factor=scale, has_touch=view == "phone"
    )


def _shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"staff-{name}.png"), full_page=True)


# The outermost elements that reach past the viewport's right edge (what makes it scroll).
WIDE = """() => {
  const w = document.documentElement.clientWidth, out = [];
  const name = (c) => c.tagName.toLowerCase() + (c.id ? "#" + c.id : "") +
    (typeof c.className === "string" && c.className ? "." + c.className.split(" ").join(".") : "");
  const walk = (el) => {
    for (const c of el.children) {
      const r = c.getBoundingClientRect(), s = getComputedStyle(c);
      if (s.position === "fixed" || s.overflowX !== "visible") continue;
      if (r.right > w + 1) { out.push(name(c) + " " + Math.round(r.right)); continue; }
      const before = out.length;
      walk(c);
      // text (not a child element) wider than its box
      if (out.length === before && c.scrollWidth > c.clientWidth + 1 && c.clientWidth > 0)
        out.push(name(c) + " text " + c.scrollWidth + ">" + c.clientWidth);
    }
  };
  walk(document.body);
  return out.slice(0, 5);
}"""


def _check(page, state: str, view: str) -> list[str]:
    """axe-core on the page, a screenshot to look at, and (off the desktop) no sideways scroll."""
    problems = axe_violations(page, f"{view} {state}")
    _shoot(page, f"{view}-{re.sub(r'[^a-z0-9]+', '-', state)}")
    if view != "desktop":
        size = page.evaluate(OVERFLOW)
        if size["scroll"] > size["client"]:
            wide = ", ".join(page.evaluate(WIDE))
            problems.append(
                f"{view} {state}: scrolls sideways ({size['scroll']} > {size['client']}): {wide}"
            )
    return problems


def _login(page, live_server, username: str, landing: str) -> None:
    page.goto(live_server.url + "/login")
    page.get_by_label("職員ID").fill(username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + landing)


@pytest.mark.parametrize("view", list(VIEWPORTS))
def test_counter_pages_pass_axe(live_server, staff_account, browser, view):
    live_server.flask("demo", "load")
    context = _context(browser, view)
    problems: list[str] = []
    try:
        page = context.new_page()
        page.goto(live_server.url + "/login")
        problems += _check(page, "login", view)
        _login(page, live_server, staff_account("counter"), "/counter/")
        problems += _check(page, "counter dashboard", view)
        page.get_by_label("死亡（おくやみ）").check()
        page.get_by_role("button", name="受付を開始する").click()
        page.wait_for_url(re.compile(r"/counter/cases/\d+$"))
        page.locator("form.q-row.asked, form.role-row").first.wait_for()
        problems += _check(page, "case interview", view)
        case_url = page.url
        for path, state in [
            (case_url + "/audit", "audit trail"),
            (live_server.url + "/counter/departments/", "worklists"),
            (live_server.url + "/counter/bookings/", "bookings"),
            (live_server.url + "/counter/statistics/", "statistics"),
        ]:
            response = page.goto(path)
            assert response is not None and response.ok, f"{state}: {path}"
            problems += _check(page, state, view)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("view", list(VIEWPORTS))
@pytest.mark.parametrize(("role", "landing"), [("policy", "/policy/"), ("admin", "/admin/")])
def test_policy_and_admin_pages_pass_axe(live_server, staff_account, browser, role, landing, view):
    context = _context(browser, view)
    try:
        page = context.new_page()
        _login(page, live_server, staff_account(role), landing)
        problems = _check(page, landing, view)
        if role == "policy":
            # the version in force, and a draft of it with its editor and plain forms
            page.goto(live_server.url + "/policy/versions/1")
            problems += _check(page, "policy version", view)
            page.get_by_role("button", name=re.compile("下書き")).first.click()
            page.wait_for_url(re.compile(r"/policy/versions/\d+$"))
            problems += _check(page, "policy draft", view)
            page.goto(page.url + "/municipality")
            problems += _check(page, "policy municipality form", view)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("where", ["login", "worklists"])
def test_login_and_worklists_reflow_at_320px(live_server, staff_account, browser, where):
    context = browser.new_context(locale="ja-JP", viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        if where == "login":
            page.goto(live_server.url + "/login")
        else:
            live_server.flask("demo", "load")
            _login(page, live_server, staff_account("counter"), "/counter/")
            page.goto(live_server.url + "/counter/departments/")
        _shoot(page, f"320-{where}")
        size = page.evaluate(OVERFLOW)
        wide = page.evaluate(WIDE)
    finally:
        context.close()
    assert size["scroll"] <= size["client"], f"{where} scrolls sideways at 320 px: {size} {wide}"
