"""Staff pages pass axe-core too (issue #17: "and on every staff and kiosk page").

The counter dashboard, a case in the interview, its audit trail, the worklists, bookings
and statistics; the policy workspace; the admin page; and login — each at 1366×768 with
the WCAG 2.0/2.1/2.2 A and AA tags: zero violations.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import PASSWORD
from tests.e2e.test_resident_a11y import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.a11y]


def _login(page, live_server, username: str, landing: str) -> None:
    page.goto(live_server.url + "/login")
    page.get_by_label("職員ID").fill(username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + landing)


def test_counter_pages_pass_axe(live_server, staff_account, browser):
    live_server.flask("demo", "load")
    context = browser.new_context(locale="ja-JP", viewport={"width": 1366, "height": 768})
    problems: list[str] = []
    try:
        page = context.new_page()
        page.goto(live_server.url + "/login")
        problems += axe_violations(page, "login")
        _login(page, live_server, staff_account("counter"), "/counter/")
        problems += axe_violations(page, "counter dashboard")
        page.get_by_label("死亡（おくやみ）").check()
        page.get_by_role("button", name="受付を開始する").click()
        page.wait_for_url(re.compile(r"/counter/cases/\d+$"))
        page.locator("form.q-row.asked, form.role-row").first.wait_for()
        problems += axe_violations(page, "case interview")
        case_url = page.url
        for path, state in [
            (case_url + "/audit", "audit trail"),
            (live_server.url + "/counter/departments/", "worklists"),
            (live_server.url + "/counter/bookings/", "bookings"),
            (live_server.url + "/counter/statistics/", "statistics"),
        ]:
            response = page.goto(path)
            assert response is not None and response.ok, f"{state}: {path}"
            problems += axe_violations(page, state)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("role", "landing"), [("policy", "/policy/"), ("admin", "/admin/")])
def test_policy_and_admin_pages_pass_axe(live_server, staff_account, browser, role, landing):
    context = browser.new_context(locale="ja-JP", viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        _login(page, live_server, staff_account(role), landing)
        problems = axe_violations(page, landing)
        if role == "policy":
            # the version in force, and a draft of it with its editor and plain forms
            page.goto(live_server.url + "/policy/versions/1")
            problems += axe_violations(page, "policy version")
            page.get_by_role("button", name=re.compile("下書き")).first.click()
            page.wait_for_url(re.compile(r"/policy/versions/\d+$"))
            problems += axe_violations(page, "policy draft")
            page.goto(page.url + "/municipality")
            problems += axe_violations(page, "policy municipality form")
    finally:
        context.close()
    assert not problems, "\n".join(problems)
