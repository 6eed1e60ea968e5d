"""Every scenario of the content's rule set renders: its forms on screen, its packet as PDF."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.documents.render import Documents, RenderContext
from app.engine import evaluate, load
from tests.documents.conftest import ROOT, filled_values, pdf_text, squash


@pytest.fixture(scope="module")
def results() -> list[tuple[str, dict[str, Any], RenderContext]]:
    ruleset = load([ROOT / "procedure_rules", ROOT / "form_definitions"])
    out = []
    for i, scenario in enumerate(ruleset.scenarios):
        result = evaluate(ruleset, scenario.facts, scenario.as_of).to_json()
        context = RenderContext(
            case_number=f"S-{i:03d}",
            ruleset_version=result["ruleset_version"],
            municipality=ruleset.municipality.name,
        )
        out.append((scenario.name, result, context))
    return out


def test_every_scenario_form_shows_every_value_on_screen(
    docs: Documents, results: list[tuple[str, dict[str, Any], RenderContext]]
) -> None:
    shown = 0
    for name, result, context in results:
        for form in result["forms"]:
            html = str(docs.render_form_html(form["template"], form, context))
            text = squash(re.sub(r"<[^>]+>", "", html).replace("&amp;", "&"))
            for value in filled_values(form):
                assert squash(value) in text, f"{name}: {form['key']}: {value!r} not shown"
            shown += 1
    assert shown >= 50


def test_the_largest_case_prints_as_a_packet_with_its_cover_sheet(
    docs: Documents, results: list[tuple[str, dict[str, Any], RenderContext]]
) -> None:
    name, result, context = max(results, key=lambda r: len(r[1]["forms"]))
    pdf = docs.render_packet_pdf(result["forms"], context, procedures=result["procedures"])
    text = squash(pdf_text(pdf))
    assert "受付案内票" in text
    for procedure in result["procedures"]:
        assert squash(procedure["title"]) in text, procedure["title"]
        assert squash(procedure["department"]["counter"]) in text
    for form in result["forms"]:
        for value in filled_values(form):
            assert squash(value) in text, f"{name}: {form['key']}: {value!r} not in the packet"


def test_cover_sheet_says_guidance_only_with_where_to_go_not_nothing_to_do(
    docs: Documents, results: list[tuple[str, dict[str, Any], RenderContext]]
) -> None:
    # 年金分割 is filed at the 年金事務所 and a 戸籍届 by the resident: neither is 「手続き不要」.
    seen: set[str] = set()
    for name, result, context in results:
        guided = [p for p in result["procedures"] if p["guidance"]]
        if not guided:
            continue
        html = str(docs.render_cover_html(result["procedures"], context))
        rows = re.findall(r'<td class="c-title">(.*?)</td>', html)
        for procedure in guided:
            mine = [r for r in rows if procedure["title"] in r]  # one per member, if per person
            assert mine, (name, procedure["title"])
            for row in mine:
                assert f"ご案内のみ・届出先：{procedure['guidance']}" in row, (name, row)
                assert "手続き不要" not in row, (name, row)
            seen.add(procedure["id"])
    assert {"nenkin_bunkatsu_annai", "shibo_todoke", "ryoken_annai"} <= seen, seen


def test_after_a_divorce_the_forms_circle_the_pension_the_parent_has_now(
    docs: Documents, results: list[tuple[str, dict[str, Any], RenderContext]]
) -> None:
    # The mother was 第3号 while married; on the 児童手当 claim she is 国民年金 (第1号) now, and the
    # 種別変更 circles 「離婚」 among the form's reasons rather than adding a fifth, long one.
    checked = 0
    for name, result, context in results:
        if "divorce" not in name and "離婚" not in name:
            continue
        for form in result["forms"]:
            if form["id"] not in ("jido_teate_nintei", "kokumin_nenkin_shubetsu"):
                continue
            html = str(docs.render_form_html(form["template"], form, context))
            circled = re.findall(r'<span class="kchoice-on">([^<]+)</span>', html)
            if form["id"] == "jido_teate_nintei":
                assert not [c for c in circled if "被保険者" in c], (name, circled)
                assert "国民年金" in circled or "厚生年金" in circled, (name, circled)
            else:
                assert "離婚" in circled, (name, circled)
                assert not [c for c in circled if "被扶養" in c], (name, circled)
            checked += 1
    assert checked >= 2
