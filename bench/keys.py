"""Benchmark the counter by keyboard: how many keys a clerk presses for two whole journeys.

Starts the real server (gunicorn, a fresh instance with the demo registry) and the system
Chromium at 1366×768, and drives it with the keyboard only — no clicks, no element.focus():
the driver reads the screen (which question has the cursor, what kind of field it is) and
presses keys as a clerk would:

- death: from the counter's registry search (山田 太郎, S23.3.2) to the last answer;
- move-in: a family of four from another prefecture, from the login page to the last answer.

A text answer is typed character by character (each character counts as a key, as on a
keyboard without IME shortcuts) and sent with Enter; a yes/no question is one Space or one
arrow; a select is arrows then Enter; a role question is arrows then Enter; a member is
added with Alt+M, arrows, Space and Enter. When the cursor is not on an open question the
driver presses Alt+N (next open question). After every save the driver checks where the
cursor went: on <body> counts as focus lost. The panel counts as in view when at least
200 px of it (or all of it) is on screen after every save.

Prints, as its last line, one JSON object:
{"death": {"keys", "tab_share", "focus_lost", "panel_in_view", ...}, "move_in": {...},
 "keys", "tab_share", "focus_lost", "panel_in_view"}
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_env import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.e2e.conftest import LiveServer  # noqa: E402
from tests.e2e.test_counter_journeys import DEATH_ANSWERS, MOVE_IN_ANSWERS  # noqa: E402

PASSWORD = "bench-keys-password"
USER = "keys-bench"
VIEWPORT = {"width": 1366, "height": 768}
# Who holds each role the rules ask about (index in the household); others: the spouse.
DEATH_ROLES = {"deceased": 0}
MOVE_IN_ROLES = {"jido_teate_recipient": 0}
# The family of four, added member by member with their roles (role ids of roles.yaml).
MOVE_IN_MEMBERS = [["applicant", "household_head"], ["spouse"], ["child"], ["child"]]

WHERE = """() => {
  const el = document.activeElement;
  const form = el && el.closest ? el.closest("form") : null;
  const panel = document.getElementById("panel");
  const out = {tag: el ? el.tagName : "NONE", type: el && el.type || "", value: el && el.value || ""};
  if (form) {
    out.form = form.className;
    out.fact = form.dataset.fact || "";
    out.url = form.dataset.url || "";
    out.asked = form.classList.contains("asked") || form.classList.contains("role-row");
    out.multi = form.dataset.multi !== undefined;
    out.suggested = !!form.querySelector(".suggestion");
    if (el.tagName === "SELECT") {
      out.options = Array.from(el.options).map((o) => o.value);
      out.index = el.selectedIndex;
    }
    if (el.type === "radio") {
      out.options = Array.from(form.querySelectorAll(`input[name="${el.name}"]`)).map((r) => r.value);
      out.index = out.options.indexOf(el.value);
      out.checked = el.checked;
    }
    if (el.type === "checkbox") {
      const boxes = Array.from(form.querySelectorAll("input[type=checkbox]"));
      out.options = boxes.map((b) => b.value);
      out.index = boxes.indexOf(el);
    }
  }
  out.open = document.querySelectorAll("form.q-row.asked, form.role-row").length;
  if (panel) {
    const r = panel.getBoundingClientRect();
    const visible = Math.min(r.bottom, innerHeight) - Math.max(r.top, 0);
    out.panel = r.left < innerWidth && r.right > 0 && visible >= Math.min(200, r.height);
  }
  return out;
}"""


class Keyboard:
    """The clerk's hands: every key goes through here and is counted."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.keys = 0
        self.tabs = 0
        self.typed = 0
        self.shortcuts = 0

    def press(self, key: str, times: int = 1) -> None:
        """Press one key (or chord) ``times`` times."""
        for _ in range(times):
            self.page.keyboard.press(key)
            self.keys += 1
            if key in ("Tab", "Shift+Tab"):
                self.tabs += 1
            if key.startswith("Alt+"):
                self.shortcuts += 1

    def type(self, text: str) -> None:
        """Type text, one key per character."""
        self.page.keyboard.type(text)
        self.keys += len(text)
        self.typed += len(text)

    def tab_to_checkbox(self, limit: int = 40) -> None:
        """Press Tab until a checkbox (the first life event) has the cursor."""
        for _ in range(limit):
            self.press("Tab")
            if self.page.evaluate("() => document.activeElement.type === 'checkbox'"):
                return
        raise RuntimeError("Tab never reached the life events")


class Journey:
    """One interview driven by keyboard, with what the clerk saw after every save."""

    def __init__(self, page: Any, answers: dict[str, str], roles: dict[str, int]) -> None:
        self.page = page
        self.kb = Keyboard(page)
        self.answers = answers
        self.roles = roles
        self.focus_lost = 0
        self.panel_checks: list[bool] = []
        self.saves = 0

    def where(self) -> dict[str, Any]:
        return dict(self.page.evaluate(WHERE))

    def settle(self) -> None:
        """Wait for the redraw, then note where the cursor is and whether the panel shows."""
        self.page.wait_for_function(
            "() => !document.getElementById('questions').hasAttribute('aria-busy')"
        )
        self.saves += 1
        here = self.where()
        if here["tag"] in ("BODY", "NONE", "HTML"):
            self.focus_lost += 1
        self.panel_checks.append(bool(here.get("panel")))

    def saving(self, action: Any, pattern: str = r"/(answer|roles/[^/]+|members)$") -> None:
        with self.page.expect_response(re.compile(pattern)) as response:
            action()
        reply = response.value.json()
        if not reply.get("ok"):
            raise RuntimeError(f"the answer was refused: {reply}")
        self.settle()

    def choose(self, here: dict[str, Any], wanted: str) -> None:
        """Move a select to ``wanted`` with the arrow keys."""
        steps = here["options"].index(wanted) - here["index"]
        self.kb.press("ArrowDown" if steps > 0 else "ArrowUp", abs(steps))

    def answer(self, here: dict[str, Any]) -> None:
        fact = here["fact"]
        if fact not in self.answers:
            raise RuntimeError(f"no answer for {fact}")
        value = self.answers[fact]
        if here["multi"]:
            raise RuntimeError(f"{fact}: rows with several inputs are not driven")
        if here["type"] == "radio":
            steps = here["options"].index(value) - here["index"]
            if steps == 0:
                self.saving(lambda: self.kb.press("Space"))
            else:
                self.saving(
                    lambda: self.kb.press("ArrowRight" if steps > 0 else "ArrowLeft", abs(steps))
                )
        elif here["tag"] == "SELECT":
            self.choose(here, value)
            self.saving(lambda: self.kb.press("Enter"))
        elif here["value"] and here.get("suggested") and here["value"] == value:
            self.saving(lambda: self.kb.press("Enter"))  # the offered answer (候補) is right
        else:
            self.kb.type(as_typed(value))
            self.saving(lambda: self.kb.press("Enter"))

    def pick_role(self, here: dict[str, Any]) -> None:
        role = here["url"].rsplit("/", 1)[1]
        self.choose(here, str(self.roles.get(role, 1)))
        self.saving(lambda: self.kb.press("Enter"))

    def add_member(self, roles: list[str]) -> None:
        """Alt+M, then arrows to each role, Space to tick it, Enter to add the member."""
        self.kb.press("Alt+M")
        for role in roles:
            here = self.where()
            steps = here["options"].index(role) - here["index"]
            self.kb.press("ArrowDown" if steps > 0 else "ArrowUp", abs(steps))
            self.kb.press("Space")
        self.saving(lambda: self.kb.press("Enter"), r"/members$")

    def run(self, members: list[list[str]] = (), limit: int = 200) -> None:  # type: ignore[assignment]
        for roles in members:
            self.add_member(roles)
        for _ in range(limit):
            here = self.where()
            if here.get("asked") and "role-row" in here.get("form", ""):
                self.pick_role(here)
            elif here.get("asked") and here.get("fact"):
                self.answer(here)
            elif here["open"]:
                self.kb.press("Alt+N")
            else:
                return
        raise RuntimeError("the interview did not end")

    def report(self) -> dict[str, Any]:
        kb = self.kb
        return {
            "keys": kb.keys,
            "typed_chars": kb.typed,
            "keys_without_text": kb.keys - kb.typed,
            "tabs": kb.tabs,
            "tab_share": round(kb.tabs / kb.keys, 3) if kb.keys else 0.0,
            "shortcuts": kb.shortcuts,
            "saves": self.saves,
            "focus_lost": self.focus_lost,
            "panel_in_view": all(self.panel_checks),
        }


ERAS = {"明治": "M", "大正": "T", "昭和": "S", "平成": "H", "令和": "R"}
WAREKI = re.compile(r"^(明治|大正|昭和|平成|令和)(\d+)年(\d+)月(\d+)日$")


def as_typed(value: str) -> str:
    """Return a date the way a clerk types it (R8.11.20, as the field's example shows)."""
    m = WAREKI.match(value)
    return f"{ERAS[m[1]]}{m[2]}.{m[3]}.{m[4]}" if m else value


def cursor_placed(page: Any) -> None:
    """Wait (briefly) for the page's autofocus: a clerk starts typing once the cursor shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):  # no autofocus: the keys below find out
        page.wait_for_function("() => document.activeElement !== document.body", timeout=3000)


def login(kb: Keyboard, page: Any, url: str) -> None:
    """From the login page: the ID field has the cursor; ID, Tab, password, Enter."""
    page.goto(url + "/login")
    cursor_placed(page)
    kb.type(USER)
    kb.press("Tab")
    kb.type(PASSWORD)
    with page.expect_navigation():
        kb.press("Enter")


def death_journey(page: Any, url: str) -> dict[str, Any]:
    """A death from the registry: search, tick 死亡, open, answer every question."""
    journey = Journey(page, DEATH_ANSWERS, DEATH_ROLES)
    kb = journey.kb
    login(Keyboard(page), page, url)  # logging in is not part of this journey's count
    cursor_placed(page)
    kb.type("ヤマダ タロウ")
    kb.press("Tab")
    kb.type("S23.3.2")
    with page.expect_navigation():
        kb.press("Enter")
    cursor_placed(page)
    # The found household has the cursor; the life events follow it.
    kb.tab_to_checkbox()
    here = journey.where()
    assert here["type"] == "checkbox", here
    steps = here["options"].index("death") - here["index"]
    kb.press("ArrowDown", steps)
    kb.press("Space")
    with page.expect_navigation():
        kb.press("Enter")
    page.wait_for_selector("#questions")
    journey.run()
    return journey.report()


def move_in_journey(page: Any, url: str) -> dict[str, Any]:
    """A family of four moving in: from the login page to the last answer."""
    journey = Journey(page, MOVE_IN_ANSWERS, MOVE_IN_ROLES)
    kb = journey.kb
    login(kb, page, url)
    cursor_placed(page)
    kb.tab_to_checkbox()
    here = journey.where()
    steps = here["options"].index("move_in") - here["index"]
    kb.press("ArrowDown", steps)
    kb.press("Space")
    with page.expect_navigation():
        kb.press("Enter")
    page.wait_for_selector("#questions")
    journey.run(MOVE_IN_MEMBERS)
    return journey.report()


def main() -> None:
    from playwright.sync_api import sync_playwright

    server = LiveServer(Path(tempfile.mkdtemp(prefix="bench-keys-")))
    server.start()
    started = time.monotonic()
    try:
        server.flask("users", "create", "--role", "counter", "--password", PASSWORD, USER)
        server.flask("demo", "load")
        results = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            for name, journey in (("death", death_journey), ("move_in", move_in_journey)):
                context = browser.new_context(locale="ja-JP", viewport=VIEWPORT)
                results[name] = journey(context.new_page(), server.url)
                context.close()
            browser.close()
    finally:
        server.stop()
    keys = sum(r["keys"] for r in results.values())
    tabs = sum(r["tabs"] for r in results.values())
    print(
        json.dumps(
            {
                **results,
                "keys": keys,
                "tab_share": round(tabs / keys, 3) if keys else 0.0,
                "focus_lost": sum(r["focus_lost"] for r in results.values()),
                "panel_in_view": all(r["panel_in_view"] for r in results.values()),
                "viewport": f"{VIEWPORT['width']}x{VIEWPORT['height']}",
                "seconds": round(time.monotonic() - started, 1),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
