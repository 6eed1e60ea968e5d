"""DV 支援措置: a divorce case's every form is rendered; the protected address is on none meant
for others (the former recipient's 消滅届, the spouses' 離婚届 draft), and still on the
protected mother's own forms (so that the check can fail)."""

from __future__ import annotations

import re

import pytest

from app.documents.render import Documents, FormDocument
from app.engine import RuleSet, evaluate, load
from app.engine.protection import MASK, for_others, protect
from tests.documents.conftest import CONTEXT, ROOT, pdf_text, squash

CASE = "協議離婚・DV（子2人）"
NEW_ADDRESS = "東京都みどり市緑が丘二丁目7番1号 グリーンハイツ305"
POSTAL = "〒189-0033"


@pytest.fixture(scope="module")
def content() -> RuleSet:
    return load([ROOT / "procedure_rules", ROOT / "form_definitions"])


@pytest.fixture(scope="module")
def case(content: RuleSet):
    scenario = next(s for s in content.scenarios if s.name.startswith(CASE))
    result = evaluate(content, scenario.facts, scenario.as_of)
    protected, protection = protect(result, scenario.facts)
    return scenario, result, protected, protection


def text_of(html: str) -> str:
    return squash(re.sub(r"<[^>]+>", "", html))


def test_the_case_names_who_is_protected_and_reaches_others(case) -> None:
    scenario, result, _, protection = case
    assert protection.members == {0, 2, 3}  # the mother and the two children
    others = {f.key for f in result.forms if for_others(f, scenario.facts, protection.members)}
    assert others == {"rikon_todoke_draft", "jido_teate_shometsu"}
    assert NEW_ADDRESS in protection.addresses
    assert "rikon_todoke_draft.address" in {f"{k}.{f}" for k, f in protection.masked}


def test_no_output_for_others_shows_the_protected_address(docs: Documents, case) -> None:
    scenario, result, protected, protection = case
    checked = 0
    for form in protected.forms:
        doc = FormDocument.of(form.to_json())
        html = text_of(str(docs.render_form_html(doc.form_id, doc.values, CONTEXT)))
        if for_others(form, scenario.facts, protection.members):
            assert squash(NEW_ADDRESS) not in html, form.key
            assert POSTAL not in html, form.key
            assert squash("緑が丘二丁目7番1号") not in html, form.key
            assert squash("緑が丘二丁目7番地") not in html, form.key  # her new 本籍 near the home
            checked += 1
        else:  # the mother's own forms keep her address: the check above can fail
            if "address" in form.fields and form.fields["address"]:
                assert squash(NEW_ADDRESS) in html, form.key
    assert checked == 2
    shometsu = protected.form("jido_teate_shometsu")
    assert shometsu is not None
    assert shometsu.fields["address"] == "東京都みどり市本町三丁目5番6号"  # his own address stays
    assert protected.form("rikon_todoke_draft").fields["address"] == MASK  # type: ignore[union-attr]


def test_unprotected_render_would_leak(docs: Documents, case) -> None:
    """Without the protection the draft both spouses see carries the new address."""
    _, result, _, _ = case
    draft = FormDocument.of(result.form("rikon_todoke_draft").to_json())  # type: ignore[union-attr]
    html = text_of(str(docs.render_form_html(draft.form_id, draft.values, CONTEXT)))
    assert squash(NEW_ADDRESS) in html


def test_cover_sheet_and_the_others_packet_pdf_carry_no_protected_address(
    docs: Documents, case
) -> None:
    scenario, _, protected, protection = case
    procedures = [p.to_json() for p in protected.procedures]
    cover = text_of(str(docs.render_cover_html(procedures, CONTEXT)))
    assert squash("緑が丘二丁目7番1号") not in cover
    assert "本日中にお手続きください" in cover  # 児童手当 15日・児童扶養手当・支援措置申出
    others = [
        FormDocument.of(f.to_json())
        for f in protected.forms
        if for_others(f, scenario.facts, protection.members)
    ]
    pdf = squash(pdf_text(docs.render_packet_pdf(others, CONTEXT, procedures=procedures)))
    assert squash("緑が丘二丁目7番1号") not in pdf
    assert "支援措置のため記載しません" in pdf
