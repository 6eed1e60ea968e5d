"""Counter staff serve whole life events in the browser, by keyboard, as at the desk."""

from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
PASSWORD = "browser-test-password"

# What the resident tells the counter, by fact id (dates as people say them, in 和暦).
DEATH_ANSWERS = {
    "death.date": "令和8年11月20日",
    "death.time": "14:30",
    "death.place": "みどり市立病院（東京都みどり市本町1-2-3）",
    "death.infectious": "false",
    "death.crematorium": "みどり市斎場",
    "death.cremation_date": "R8.11.24",
    "funeral.date": "令和8年11月23日",
    "dog.owned": "false",
    # issue 15: 水道の名義変更・原付の廃車・農地の相続の届出は、ないか窓口で扱わない
    "suido.todoke": "false",
    "vehicle.owned": "false",
    "nochi.owned": "false",
    # asked because the death lies more than 7 days back (戸籍法第86条: from the day it became known)
    "death.known_date": "令和8年11月20日",
    "death.abroad": "false",
    # the 死亡届 is the family's to write (戸籍法第87条); this family wants no draft
    "koseki.draft_kibou": "false",
    # survivors' procedures (issue 13): 高額療養費 to heirs, 遺族厚生年金, a dependant of the deceased
    "household[0].iryohi_kogaku": "false",
    "household[0].kosei_nenkin_jukyu": "false",
    "household[0].employee_insurance": "false",
    "household[0].nenkin_shubetsu": "nashi",
    "household[1].relation_to_deceased": "tsuma",
    "household[1].phone": "042-246-1357",
    "household[1].bank_name": "みどり信用金庫",
    "household[1].bank_branch": "本店",
    "household[1].account_type": "futsu",
    "household[1].account_number": "1234567",
    "household[1].account_holder": "ヤマダ ハナコ",
    # the spouse, as 相続人代表者, states her share (地方税法第9条第2項)
    "household[1].sozokubun": "2分の1",
    # 市税 of the deceased (地方税法 第9条): 住民税 if no land, and whether it was paid by 口座振替
    "household[0].juminzei_kazei": "true",
    "household[0].koza_furikae": "false",
}
ROLE_HOLDERS = {"deceased": "0"}  # everyone else's role goes to the spouse (member 1)


def _login(page, live_server, staff_account):
    page.goto(live_server.url + "/login")
    page.get_by_label("職員ID").fill(staff_account("counter"))
    page.get_by_label("パスワード").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/counter/")


def _open_death_case(page, live_server, staff_account):
    """Log in and open a death case without the registry (every question still open)."""
    live_server.flask("demo", "load")
    _login(page, live_server, staff_account)
    page.get_by_label("死亡（おくやみ）").check()
    page.get_by_role("button", name="受付を開始する").click()
    page.wait_for_url(re.compile(r"/counter/cases/\d+$"))


def _settled(page):
    """Wait until the workspace has redrawn after the last answer (aria-busy cleared)."""
    page.wait_for_function("() => !document.getElementById('questions').hasAttribute('aria-busy')")


def _answer_all(page, answers, role_holders, limit=80):
    """Answer the first open question until none is left; return the facts answered."""
    answered = []
    for _ in range(limit):
        role = page.locator("form.role-row").first
        if role.count():
            role_id = role.get_attribute("data-url").rsplit("/", 1)[1]
            with page.expect_response(re.compile(r"/roles/")):
                role.locator("select").select_option(role_holders.get(role_id, "1"))
            _settled(page)
            continue
        row = page.locator("form.q-row.asked").first
        if not row.count():
            return answered
        fact = row.get_attribute("data-fact")
        assert fact in answers, f"the test has no answer for {fact}"
        value = answers[fact]
        field = row.locator("input:not([type=hidden]), select").first
        kind = field.get_attribute("type") or field.evaluate("e => e.tagName.toLowerCase()")
        with page.expect_response(re.compile(r"/answer$")) as response:
            if kind == "select":
                field.focus()
                field.select_option(value)
            elif kind == "radio":
                row.locator(f"input[value={value}]").focus()
                page.keyboard.press("Space")
            else:
                field.focus()
                page.keyboard.press("Control+A")  # over an offered answer (候補), if any
                page.keyboard.type(value)
                page.keyboard.press("Enter")
        assert response.value.json()["ok"], response.value.json()
        _settled(page)
        answered.append(fact)
    raise AssertionError("the interview did not end")


def test_death_of_a_78_year_old_household_head(live_server, staff_account, page, tmp_path):
    live_server.flask("demo", "load")
    _login(page, live_server, staff_account)
    # Find 山田 太郎 (S23.3.2) in the registry and open a death case for his household.
    page.get_by_label("氏名（漢字またはカナ）").fill("ヤマダ タロウ")
    page.get_by_label("生年月日").fill("S23.3.2")
    page.keyboard.press("Enter")
    page.get_by_text("東京都みどり市東町四丁目2番3号").wait_for()
    page.get_by_label("死亡（おくやみ）").check()
    page.get_by_role("button", name="受付を開始する").click()
    page.wait_for_url(re.compile(r"/counter/cases/\d+$"))
    assert page.get_by_text("住民記録より").first.is_visible()

    _answer_all(page, DEATH_ANSWERS, ROLE_HOLDERS)

    panel = page.locator("#panel")
    expected = {
        "保険年金課": ["後期高齢者医療", "葬祭費"],
        "介護保険課": ["介護保険"],
        "市民課": ["死亡届", "火葬許可", "印鑑登録"],
        "税務課": ["相続人代表者"],
    }
    for department, titles in expected.items():
        block = panel.locator(".dept", has=page.locator("h3", has_text=department))
        text = block.inner_text()
        for title in titles:
            assert title in text, f"{title} missing under {department}: {text}"
    forms = panel.locator("li.form-item")
    assert forms.count() >= 4
    assert panel.locator("li.form-item.incomplete").count() == 0, panel.inner_text()
    # Why does 介護保険 apply? The reason and the facts behind it open in place.
    kaigo = panel.locator("li.proc", has_text="介護保険").first
    kaigo.locator("summary").click()
    assert "理由" in kaigo.inner_text()
    # The whole packet downloads as one PDF with the deceased's name in it.
    response = page.request.get(page.url + "/packet.pdf?download=1")
    assert response.ok and response.body().startswith(b"%PDF")
    pdf = tmp_path / "packet.pdf"
    pdf.write_bytes(response.body())
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "山田" in text and "太郎" in text


def test_reloading_mid_interview_loses_nothing(live_server, staff_account, page):
    _open_death_case(page, live_server, staff_account)
    row = page.locator('form.q-row[data-fact="death.place"]')
    with page.expect_response(re.compile(r"/answer$")):
        row.locator("input").fill("みどり市立病院")
        row.locator("input").press("Enter")
    _settled(page)
    page.reload()
    saved = page.locator('form.q-row[data-fact="death.place"]')
    assert saved.locator("input").input_value() == "みどり市立病院"
    assert "聞き取り" in saved.inner_text()


MOVE_IN_ANSWERS = {
    "dog.owned": "false",
    "suido.todoke": "false",  # issue 15: 水道の使用開始は水道局に別途
    "move.date": "令和8年11月20日",
    "move.old_address": "神奈川県横浜市中区本町1-1-1",
    "household.address": "東京都みどり市本町三丁目5番8号",
    "household.postal_code": "189-0012",
    "household[0].name": "鈴木 一郎",
    "household[0].name_kana": "スズキ イチロウ",
    "household[0].birth_date": "昭和56年5月10日",
    "household[0].sex": "male",
    "household[1].name": "鈴木 花子",
    "household[1].name_kana": "スズキ ハナコ",
    "household[1].birth_date": "昭和58年8月1日",
    "household[1].sex": "female",
    "household[2].name": "鈴木 翔太",
    "household[2].name_kana": "スズキ ショウタ",
    "household[2].birth_date": "平成22年4月15日",
    "household[2].sex": "male",
    "household[3].name": "鈴木 美咲",
    "household[3].name_kana": "スズキ ミサキ",
    "household[3].birth_date": "平成28年6月3日",
    "household[3].sex": "female",
    "move.old_household_head": "鈴木 一郎",
    "move.other_prefecture": "true",
    "household[0].moving": "true",
    "household[1].moving": "true",
    "household[2].moving": "true",
    "household[3].moving": "true",
    "household[0].relationship": "setainushi",
    "household[1].relationship": "tsuma",
    "household[2].relationship": "ko",
    "household[3].relationship": "ko",
    "household[0].phone": "090-1234-5678",
    "household[0].nenkin_shubetsu": "dai1",
    "household[1].nenkin_shubetsu": "dai1",
    "household[0].my_number": "123456789018",
    "household[1].my_number": "900002094658",
    "household[0].account_number": "7654321",
    "household[0].bank_name": "みどり信用金庫",
    "household[0].bank_branch": "駅前支店",
    "household[0].account_type": "futsu",
    "household[0].employee_insurance": "false",
    "household[1].employee_insurance": "false",
    # the children's 健康保険 is asked once for the family (issue #16 6.), not per child
    "move.kodomo_hoken": "kokuho",
    "household[0].jido_teate_jukyu": "false",
    # 児童手当法 第17条: a 公務員 claims at the employer, so the counter asks (issue 13)
    "household[0].komuin": "false",
    "household[2].my_number": "900003141358",
    "household[3].my_number": "900004123450",
    "household[3].school_name": "横浜市立本町小学校",
    "household[3].new_school_name": "みどり市立本町小学校",
    "household[0].kaigo_nintei": "false",
    "household[0].mynumber_card": "false",
    "household[0].shogai_techo": "false",
    "household[1].kaigo_nintei": "false",
    "household[1].mynumber_card": "false",
    "household[1].shogai_techo": "false",
    "household[2].kaigo_nintei": "false",
    "household[2].mynumber_card": "false",
    "household[2].shogai_techo": "false",
    "household[3].kaigo_nintei": "false",
    "household[3].mynumber_card": "false",
    "household[3].shogai_techo": "false",
}


def test_invalid_answer_is_explained_next_to_the_field_and_kept(live_server, staff_account, page):
    _login(page, live_server, staff_account)
    page.get_by_label("死亡（おくやみ）").check()
    page.get_by_role("button", name="受付を開始する").click()
    page.wait_for_url(re.compile(r"/counter/cases/\d+$"))
    row = page.locator('form.q-row[data-fact="death.date"]')
    with page.expect_response(re.compile(r"/answer$")):
        row.locator("input").fill("令和0年1月1日")
        row.locator("input").press("Enter")
    _settled(page)
    message = row.locator(".q-msg")
    expect(message).to_have_class(re.compile("error"))
    assert "年" in message.inner_text()
    assert row.locator("input").input_value() == "令和0年1月1日"


def test_a_household_of_four_moves_in_from_another_prefecture(live_server, staff_account, page):
    _login(page, live_server, staff_account)
    page.get_by_label("転入（他の市区町村から）").check()
    page.get_by_role("button", name="受付を開始する").click()
    page.wait_for_url(re.compile(r"/counter/cases/\d+$"))
    # Nobody is in the registry yet: add the four members with their roles, by keyboard.
    for roles in (["世帯主", "申請者・届出人"], ["配偶者"], ["子"], ["子"]):
        form = page.locator("form.member-form")
        for role in roles:
            form.get_by_label(role, exact=True).check()
        with page.expect_response(re.compile(r"/members$")):
            form.get_by_role("button", name="追加する").press("Enter")
        _settled(page)
    _answer_all(page, MOVE_IN_ANSWERS, {"jido_teate_recipient": "0"})
    panel = page.locator("#panel")
    text = panel.inner_text()
    for title in ("児童手当", "国民健康保険", "転入学", "転入届"):
        assert title in text, f"{title} missing: {text}"
    child_block = panel.locator(".dept", has=page.locator("h3", has_text="子育て支援課"))
    assert "児童手当" in child_block.inner_text()
    assert panel.locator("li.form-item.incomplete").count() == 0, text
    # Every member has a section with their answered facts.
    for name in ("鈴木 一郎", "鈴木 花子", "鈴木 翔太", "鈴木 美咲"):
        assert page.locator("section.q-section h2", has_text=name).count() == 1


def test_typing_on_while_an_answer_is_saved_loses_nothing(live_server, staff_account, page):
    _open_death_case(page, live_server, staff_account)
    first = "death.place"
    others = page.locator(
        f'form.q-row.asked:not([data-fact="{first}"])', has=page.locator("input[type=text]")
    )
    second = others.first.get_attribute("data-fact")
    page.locator(f'form.q-row[data-fact="{first}"] input[type=text]').fill("みどり市立病院")
    # Leave the first row (its save starts) and type into the next one before the reply
    # is back: all in one task, so the save is certainly still in flight.
    with page.expect_response(re.compile(r"/answer$")):
        page.evaluate(
            """([first, second]) => {
                const input = (fact) => document.querySelector(
                    `form.q-row[data-fact="${fact}"] input[type=text]`);
                input(first).dispatchEvent(new Event("change", { bubbles: true }));
                if (!document.getElementById("questions").hasAttribute("aria-busy")) {
                    throw new Error("the first answer is not being saved");
                }
                input(second).focus();
                input(second).value = "入力の途中";
            }""",
            [first, second],
        )
    _settled(page)
    typed = page.locator(f'form.q-row[data-fact="{second}"] input[type=text]')
    expect(typed).to_have_value("入力の途中")
    expect(typed).to_be_focused()
    expect(page.locator(f'form.q-row[data-fact="{first}"] .q-msg')).to_have_text("保存しました")


def test_answers_saved_in_quick_succession_go_one_at_a_time(live_server, staff_account, page):
    _open_death_case(page, live_server, staff_account)
    in_flight, most = [0], [0]

    def started(request):
        if request.url.endswith("/answer"):
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])

    def ended(request):
        if request.url.endswith("/answer"):
            in_flight[0] -= 1

    page.on("request", started)
    page.on("requestfinished", ended)
    facts = {"death.place": "みどり市立病院", "death.crematorium": "みどり市斎場"}
    # Two rows left in one task: the second save is asked for while the first is in flight.
    page.evaluate(
        """(facts) => {
            for (const [fact, value] of Object.entries(facts)) {
                const input = document.querySelector(
                    `form.q-row[data-fact="${fact}"] input[type=text]`);
                input.value = value;
                input.dispatchEvent(new Event("change", { bubbles: true }));
            }
        }""",
        facts,
    )
    page.wait_for_function(
        "() => !document.getElementById('questions').hasAttribute('aria-busy')"
        " && document.querySelectorAll('form.q-row .q-msg').length > 0"
    )
    for fact, value in facts.items():
        row = page.locator(f'form.q-row[data-fact="{fact}"]')
        expect(row.locator("input[type=text]")).to_have_value(value)
        expect(row.locator(".q-msg")).to_have_text("保存しました")
    assert most[0] == 1
    page.reload()
    for fact, value in facts.items():
        expect(page.locator(f'form.q-row[data-fact="{fact}"] input[type=text]')).to_have_value(
            value
        )
