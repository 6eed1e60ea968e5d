"""The whole journey in a real browser, as two policy users and a clerk.

alice changes the 国保 葬祭費 to 70,000円 from 2027-04-01 in the plain form, sees the
impact, submits; bob approves and publishes; on the counter a case applied for on
2027-03-31 keeps 50,000円 and one applied for on 2027-04-01 gets 70,000円. Screenshots
go to instance/screenshots/; with KAKANAI_GUIDE_SCREENSHOTS=1 they replace the policy guide's
images in docs/ja/img/ (a test run must not rewrite tracked files).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
IMG = (
    ROOT / "docs" / "ja" / "img"
    if os.environ.get("KAKANAI_GUIDE_SCREENSHOTS") == "1"
    else ROOT / "instance" / "screenshots"
)

# Open a case holding the 2025-05-12 国保 death scenario, every date moved so that the case
# is applied for on the given day (ages and periods stay the same).
_SEED = """
import sys
from datetime import date, datetime

from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import StaffUser
from app.services.cases import open_case, record_fact
from tests.resident.conftest import scenario_facts

app = create_app()
with app.app_context():
    facts, as_of = scenario_facts("death.yaml", 1)
    target = date.fromisoformat(sys.argv[1])
    shift = target - as_of
    staff = db.session.scalar(select(StaffUser).filter_by(username=sys.argv[2]))
    now = datetime.now()
    case = open_case(staff.id, list(facts["case.events"]), "counter", target, now, staff.username)
    for fact_id, value in facts.items():
        if fact_id == "case.events":
            continue
        if isinstance(value, date):
            value = (value + shift).isoformat()
        record_fact(case, fact_id, value, actor=staff.username, now=now, commit=False)
    db.session.commit()
    print(case.id)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("policy-live"))
    live.start()
    for name, role in (("alice", "policy"), ("bob", "policy"), ("clerk", "counter")):
        live.flask("users", "create", "--role", role, "--password", PASSWORD, name)
    yield live
    live.stop()


@pytest.fixture
def person(browser: Any, server: LiveServer) -> Iterator[Callable[[str], Any]]:  # noqa: F811
    contexts: list[Any] = []

    def login(username: str) -> Any:
        context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.goto(server.url + "/login")
        page.get_by_label("職員ID").fill(username)
        page.get_by_label("パスワード").fill(PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_load_state()
        return page

    yield login
    for context in contexts:
        context.close()


def _seed_case(server: LiveServer, day: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _SEED, day, "clerk"],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def _shot(page: Any, name: str) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / name), full_page=True)


def test_change_the_amount_from_a_date_approve_publish_and_see_it_on_the_counter(
    server: LiveServer, person: Callable[[str], Any]
) -> None:
    before_id = _seed_case(server, "2027-03-31")
    after_id = _seed_case(server, "2027-04-01")

    alice = person("alice")
    alice.goto(server.url + "/policy/")
    assert alice.get_by_role("heading", name="手続ルールと帳票の版").is_visible()
    _shot(alice, "policy-versions.png")
    alice.get_by_role("button", name="この版から下書きを作る").first.click()
    alice.wait_for_url("**/policy/versions/2")
    assert "下書き" in alice.locator("#version-status").inner_text()

    # The plain form: a new row, 70,000 from 2027-04-01.
    alice.get_by_role("link", name="国民健康保険 葬祭費の額（みどり市）").click()
    alice.get_by_label("新しい行1の日付").fill("2027-04-01")
    alice.get_by_label("新しい行1の値").fill("70000")
    _shot(alice, "policy-parameter.png")
    alice.get_by_role("button", name="保存する").click()
    assert (
        "パラメータ sosaihi_kokuho の値を保存しました" in alice.locator(".flash").first.inner_text()
    )
    assert "2027-04-01〜: 70,000" in alice.content()

    # The file editor shows the written YAML in CodeMirror with line numbers.
    alice.get_by_role("link", name="procedure_rules/parameters.yaml", exact=True).click()
    alice.locator(".cm-editor").wait_for()
    assert "valid_from: 2027-04-01, value: 70000" in alice.locator(".cm-content").inner_text()
    assert alice.locator(".cm-lineNumbers").is_visible()
    _shot(alice, "policy-editor.png")
    alice.go_back()

    # The impact: every scenario is dated before 2027-04-01, and so is one of the cases.
    alice.get_by_role("link", name="影響を調べる（シナリオと最近の案件）").click()
    summary = alice.locator("#impact-summary").inner_text()
    assert "シナリオ 0 件、案件 1 件" in summary
    cases = alice.locator("#impact-case li[data-label]")
    assert cases.count() == 1
    assert (
        "国民健康保険葬祭費支給申請書" in alice.locator("#impact-case").inner_text()
        or "葬祭費" in alice.locator("#impact-case").inner_text()
    )
    assert "kokuho_sosaihi" in alice.locator("#per-procedure").inner_text()
    _shot(alice, "policy-impact.png")
    alice.go_back()

    alice.get_by_label("変更の説明（何を、なぜ、根拠の条文）").fill(
        "国保 葬祭費を 2027-04-01 以後の申請から 70,000 円に改定（みどり市国民健康保険条例第7条の改正）"
    )
    alice.get_by_label("適用開始日（この日以後の申請にこの版を使います）").fill("2026-12-31")
    alice.get_by_role("button", name="承認を依頼する").click()
    assert "承認を依頼しました" in alice.content()
    assert "承認待ち" in alice.locator("#version-status").inner_text()
    # alice cannot approve her own version.
    alice.get_by_role("button", name="承認する").click()
    assert "自分で作成・提出した版は承認できません" in alice.content()

    bob = person("bob")
    bob.goto(server.url + "/policy/versions/2")
    _shot(bob, "policy-approve.png")
    bob.get_by_role("button", name="承認する").click()
    assert "承認しました" in bob.content()
    # Publishing shows the impact report once more, then publishes.
    bob.get_by_role("link", name="影響を確かめて公開する").click()
    assert "2026-12-31 以後" in bob.locator("#publish-what").inner_text()
    assert "案件 1 件" in bob.locator("#impact-summary").inner_text()
    _shot(bob, "policy-publish.png")
    bob.get_by_role("button", name="この影響を確かめたうえで公開する").click()
    assert "公開しました" in bob.content()
    assert "公開済み" in bob.locator("#version-status").inner_text()
    bob.goto(server.url + "/policy/")
    assert "2026-12-31" in bob.locator("#timeline").inner_text()
    _shot(bob, "policy-timeline.png")

    # The counter: the case of 2027-03-31 keeps 50,000円, the one of 2027-04-01 gets 70,000円.
    clerk = person("clerk")
    for case_id, amount in ((before_id, "50,000"), (after_id, "70,000")):
        clerk.goto(f"{server.url}/counter/cases/{case_id}/forms/sosaihi_kokuho")
        text = clerk.locator("main").inner_text()
        assert amount in text, (case_id, amount)
        clerk.goto(f"{server.url}/counter/cases/{case_id}")
        assert "ルール版:" in clerk.locator(".case-meta").inner_text()
    _shot(clerk, "counter-case-version.png")


def test_change_a_procedure_s_words_in_the_plain_form(
    server: LiveServer, person: Callable[[str], Any]
) -> None:
    """alice rewrites the やさしい日本語 and the bring list of 葬祭費 without opening the YAML."""
    alice = person("alice")
    alice.goto(server.url + "/policy/")
    alice.get_by_role("button", name="この版から下書きを作る").first.click()
    alice.wait_for_url("**/policy/versions/*")
    alice.get_by_text("procedure_rules/procedures/hoken_nenkin.yaml（", exact=False).click()
    alice.locator('a[data-procedure="kokuho_sosaihi"]').click()
    assert alice.get_by_role(
        "heading", name="手続の文言: 国民健康保険 葬祭費の支給申請"
    ).is_visible()
    assert (
        alice.get_by_label("理由（職員が読み上げる文）")
        .input_value()
        .startswith("{deceased.name}さんは国民健康保険の被保険者")
    )
    alice.get_by_label("やさしい日本語の説明").fill(
        "おそうしきを した ひとに そうさいひが でます。2ねん いないに もうしこみます。"
    )
    alice.get_by_label("持ってくる物（1行に1つ）").fill(
        "葬儀の領収書または会葬礼状\n喪主名義の預金通帳\n喪主の本人確認書類"
    )
    _shot(alice, "policy-procedure.png")
    alice.get_by_role("button", name="保存して検査する").click()
    assert "手続 kokuho_sosaihi の文言を保存しました" in alice.locator(".flash").first.inner_text()
    assert alice.locator("#procedure-problems").count() == 0
    assert alice.get_by_label("持ってくる物（1行に1つ）").input_value().splitlines() == [
        "葬儀の領収書または会葬礼状",
        "喪主名義の預金通帳",
        "喪主の本人確認書類",
    ]
    # The file shows only this procedure's lines changed.
    alice.get_by_role("link", name="hoken_nenkin.yaml の", exact=False).click()
    alice.locator(".cm-editor").wait_for()
    content = alice.locator("textarea#text").input_value()  # CodeMirror draws only what is in view
    assert (
        "    bring: [葬儀の領収書または会葬礼状, 喪主名義の預金通帳, 喪主の本人確認書類]\n"
        in content
    )
    alice.go_back()

    # The municipality profile: a new department and a closed day, without the YAML.
    alice.get_by_role("link", name="版 #", exact=False).click()
    alice.locator("#municipality-link").click()
    assert alice.get_by_role("heading", name="市の設定（課・階・窓口、休日、設定）").is_visible()
    assert alice.get_by_label("2行目の課の名前", exact=True).input_value() == "保険年金課"
    # the empty row for a new department follows the profile's departments
    new = alice.locator("input[name=dept_name]").count()
    alice.get_by_label(f"{new}行目の課のid", exact=True).fill("fukushi")
    alice.get_by_label(f"{new}行目の課の名前", exact=True).fill("福祉課")
    alice.get_by_label(f"{new}行目の階", exact=True).fill("2")
    alice.get_by_label(f"{new}行目の窓口", exact=True).fill("18番")
    alice.get_by_label("そのほかの休日（条例で定める日。1行に1日、年-月-日）").fill("2027-06-01")
    alice.get_by_role("button", name="保存して検査する").click()
    assert "市の設定を保存しました" in alice.locator(".flash").first.inner_text()
    assert alice.locator("#municipality-problems").count() == 0
    assert alice.get_by_label(f"{new}行目の課の名前", exact=True).input_value() == "福祉課"
    _shot(alice, "policy-municipality.png")

    # A template: what is typed shows in the preview below the editor before it is saved.
    draft_url = alice.url.rsplit("/municipality", 1)[0]
    alice.goto(draft_url + "/files/pdf_templates/sosaihi_kokuho/template.html")
    alice.locator(".cm-editor").wait_for()
    alice.evaluate(
        """() => {
            const view = window.policyEditor;
            const at = view.state.doc.toString().indexOf("{% block body %}") + 16;
            view.dispatch({changes: {from: at, insert: "\\n<p>令和9年4月改正様式</p>"}});
        }"""
    )
    with alice.expect_response("**/preview") as answer:
        alice.get_by_role("button", name="保存する前の内容で見本を表示する").click()
    assert answer.value.status == 200
    assert answer.value.headers["content-type"] == "application/pdf"
    alice.evaluate(
        """() => {
            const view = window.policyEditor;
            const at = view.state.doc.toString().indexOf("{% block body %}") + 16;
            view.dispatch({changes: {from: at, insert: "{% if %}"}});
        }"""
    )
    alice.get_by_role("button", name="保存する前の内容で見本を表示する").click()
    problem = alice.frame_locator("#template-live").locator("#preview-problem")
    assert "テンプレートの書き方に誤りがあります" in problem.inner_text()
    _shot(alice, "policy-template-preview.png")


def _render(response: Any) -> bool:
    """A preview render answered (not a PDF viewer's second look at the same address)."""
    return response.request.method == "POST" and response.url.endswith("/preview")


def test_add_a_form_and_see_its_template_preview_live(
    server: LiveServer, person: Callable[[str], Any]
) -> None:
    """alice adds a form in a draft through the page, then changes its template with the
    preview following what she types: one render per pause, a broken template shown at its
    line in Japanese with her text kept. (docs/ja/policy-guide.md 「様式を追加する」.)"""
    alice = person("alice")
    alice.goto(server.url + "/policy/")
    alice.get_by_role("button", name="この版から下書きを作る").first.click()
    alice.wait_for_url("**/policy/versions/*")
    draft_url = alice.url
    alice.get_by_role("link", name="様式を追加する").click()
    assert alice.get_by_role("heading", name="様式を追加する").is_visible()
    alice.get_by_label("様式の id（英小文字・数字・_）").fill("sosaihi_kokuho_kaigai")
    alice.get_by_label("様式の名前（紙の題名）").fill(
        "国民健康保険葬祭費支給申請書（海外での葬祭）"
    )
    alice.get_by_label("もとにする様式").select_option("sosaihi_kokuho")
    alice.get_by_label("この様式を作る手続").select_option("kokuho_sosaihi")
    _shot(alice, "policy-form-new.png")
    alice.get_by_role("button", name="様式を追加して検査する").click()
    assert "様式 sosaihi_kokuho_kaigai" in alice.locator(".flash").first.inner_text()
    assert alice.locator("#lint-ok").is_visible()  # the whole draft loads with the new form
    alice.locator(".cm-editor").wait_for()
    assert "id: sosaihi_kokuho_kaigai" in alice.locator("textarea#text").input_value()
    _shot(alice, "policy-form-added.png")

    # Its template: the preview follows the typing, 400 ms after it stops.
    alice.goto(draft_url + "/files/pdf_templates/sosaihi_kokuho_kaigai/template.html")
    alice.locator(".cm-editor").wait_for()
    previews: list[str] = []

    def posted(request: Any) -> None:  # the renders asked for (a PDF viewer may GET it again)
        if request.method == "POST" and request.url.endswith("/preview"):
            previews.append(request.url)

    alice.on("request", posted)
    insert = """(text) => {
        // typed at the start of the body block, each piece after the one before
        const view = window.policyEditor;
        if (window.typedAt === undefined)
            window.typedAt = view.state.doc.toString().indexOf("{% block body %}") + 16;
        view.dispatch({changes: {from: window.typedAt, insert: text}});
        window.typedAt += text.length;
    }"""
    with alice.expect_response(_render) as answer:
        for part in ("\n<p>", "海外で", "葬祭を行った</p>"):  # three edits inside one pause
            alice.evaluate(insert, part)
    assert answer.value.status == 200
    assert answer.value.headers["content-type"] == "application/pdf"
    alice.locator("#preview-status", has_text="見本を更新しました").wait_for()
    assert len(previews) == 1, previews
    with alice.expect_response(_render) as answer:
        alice.evaluate(insert, "{% if %}")
    assert answer.value.status == 422
    status = alice.locator("#preview-status")
    alice.locator("#preview-status", has_text="行目").wait_for()
    assert "テンプレートの書き方に誤りがあります" in status.inner_text()
    assert alice.locator(".cm-lint-marker-error").count() >= 1  # marked at its line
    assert "{% if %}" in alice.evaluate("() => window.policyEditor.state.doc.toString()")
    _shot(alice, "policy-template-live.png")
    with alice.expect_response(_render) as answer:  # put right: the preview comes back
        alice.evaluate(
            """() => {
                const view = window.policyEditor, text = view.state.doc.toString();
                const at = text.indexOf("{% if %}");
                view.dispatch({changes: {from: at, to: at + 8}});
            }"""
        )
    assert answer.value.status == 200
    alice.get_by_role("button", name="保存して検査する").click()
    assert "を保存しました" in alice.locator(".flash").first.inner_text()
    assert alice.locator("#lint-ok").is_visible()
    assert "<p>海外で葬祭を行った</p>" in alice.locator("textarea#text").input_value()
