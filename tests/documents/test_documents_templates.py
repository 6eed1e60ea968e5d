"""Every form of the content has a template that prints every value, like the paper form."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
import tinycss2
import zxingcpp

from app.documents.render import Documents, document_hash, qr_payload
from tests.documents.conftest import (
    CONTEXT,
    FORM_DEFINITIONS,
    definition,
    filled_values,
    page_image,
    pdf_fonts,
    pdf_text,
    squash,
)

FORM_IDS = [p.stem for p in FORM_DEFINITIONS]
_rendered: dict[str, tuple[bytes, list[logging.LogRecord]]] = {}


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def render_sample(docs: Documents, form_id: str) -> tuple[bytes, list[logging.LogRecord]]:
    """Render a form's sample once per session; keep whatever was logged meanwhile."""
    if form_id not in _rendered:
        handler = _Collect()
        root = logging.getLogger()
        root.addHandler(handler)
        progress = logging.getLogger("weasyprint.progress")
        level = progress.level
        progress.setLevel(logging.WARNING)  # step-by-step progress is not a complaint
        try:
            pdf = docs.render_form_pdf(form_id, docs.catalog.form(form_id).sample, CONTEXT)
        finally:
            root.removeHandler(handler)
            progress.setLevel(level)
        _rendered[form_id] = (pdf, handler.records)
    return _rendered[form_id]


def test_the_content_has_forms() -> None:
    assert len(FORM_IDS) >= 21, FORM_IDS


@pytest.mark.parametrize("path", FORM_DEFINITIONS, ids=lambda p: p.stem)
def test_every_definition_has_a_template_whose_sample_supplies_every_field(
    docs: Documents, path: Path
) -> None:
    form = definition(path)
    template = docs.catalog.form(form.get("template") or form["id"])
    sample: dict[str, Any] = dict(template.sample)
    field_ids = {f["id"] for f in form.get("fields") or []}
    assert set(sample["fields"]) == field_ids, (
        f"{template.folder}/sample.yaml: fields missing {sorted(field_ids - set(sample['fields']))}"
        f", unknown {sorted(set(sample['fields']) - field_ids)}"
    )
    for row in form.get("rows") or []:
        assert row["id"] in sample["rows"], f"sample.yaml lacks rows.{row['id']}"
        assert sample["rows"][row["id"]], f"sample.yaml rows.{row['id']} is empty"
        row_ids = {f["id"] for f in row["fields"]}
        for item in sample["rows"][row["id"]]:
            assert set(item) == row_ids, f"rows.{row['id']}: {sorted(row_ids ^ set(item))}"
    assert template.title == form["title"]


def test_samples_include_hard_characters(docs: Documents) -> None:
    """髙 (a 異体字 outside JIS X 0208) and half-width ﾊﾝｶｸ must survive into the PDF."""
    text = " ".join(str(f.sample) for f in docs.catalog.forms.values())
    assert "髙橋" in text
    assert re.search("[\uff66-\uff9d]", text), "no half-width katakana in any sample"


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_pdf_contains_every_filled_value(docs: Documents, form_id: str) -> None:
    pdf, _ = render_sample(docs, form_id)
    text = squash(pdf_text(pdf))
    missing = [
        v for v in filled_values(dict(docs.catalog.form(form_id).sample)) if squash(v) not in text
    ]
    assert not missing, f"{form_id}: not in the PDF text: {missing}"


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_html_preview_shows_the_same_values_as_the_pdf(docs: Documents, form_id: str) -> None:
    sample = dict(docs.catalog.form(form_id).sample)
    html = docs.render_form_html(form_id, sample, CONTEXT)
    html_text = squash(re.sub(r"<[^>]+>", "", str(html)).replace("&amp;", "&"))
    pdf_values = squash(pdf_text(render_sample(docs, form_id)[0]))
    for value in filled_values(sample):
        assert squash(value) in html_text, f"{form_id}: {value!r} not in the HTML preview"
        assert squash(value) in pdf_values, f"{form_id}: {value!r} not in the PDF"


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_japanese_fonts_are_embedded_as_subsets(
    docs: Documents, form_id: str, tmp_path: Path
) -> None:
    fonts = pdf_fonts(render_sample(docs, form_id)[0], tmp_path)
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows, fonts
    assert any(r[0].endswith("+IPAexGothic") for r in rows), fonts
    for row in rows:
        name, emb, sub = row[0], row[-5], row[-4]
        assert "IPAex" in name, f"{form_id}: unexpected font {name}\n{fonts}"
        assert (emb, sub) == ("yes", "yes"), f"{form_id}: {name} not an embedded subset"


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_footer_qr_decodes_to_the_document_hash(docs: Documents, form_id: str) -> None:
    template = docs.catalog.form(form_id)
    pdf, _ = render_sample(docs, form_id)
    codes = zxingcpp.read_barcodes(page_image(pdf))
    expected = qr_payload(document_hash(form_id, template.version, template.sample, CONTEXT))
    assert [c.text for c in codes if c.format == zxingcpp.BarcodeFormat.QRCode] == [expected]


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_render_logs_nothing(docs: Documents, form_id: str) -> None:
    _, records = render_sample(docs, form_id)
    assert [r.getMessage() for r in records] == []


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_form_fits_one_a4_page_and_states_case_and_rules(docs: Documents, form_id: str) -> None:
    pdf, _ = render_sample(docs, form_id)
    text = pdf_text(pdf)
    assert text.count("\f") == 1, f"{form_id}: the sample should fit on one A4 sheet"
    assert CONTEXT.case_number in text and CONTEXT.ruleset_version in text
    assert re.search(r"\b1\s*/\s*1\b", text), "page x/y missing from the footer"
    # 後期高齢者医療 forms go to the prefecture's 広域連合長, 障害者手帳 and 特別児童扶養手当
    # to its 知事 (the authority that decides); every other form to the city's 長.
    addressee = re.search(r"（宛先）(\S+)", text)
    assert addressee, f"{form_id}: no addressee"
    assert addressee.group(1) in (
        "みどり市長",
        "みどり市教育委員会",
        "東京都知事",
        "東京都後期高齢者医療広域連合長",
    ), addressee.group(1)
    if form_id in ("koki_todoke", "sosaihi_koki"):
        assert addressee.group(1) == "東京都後期高齢者医療広域連合長"
    if form_id in ("shogai_techo_henko", "shogai_techo_henkan", "tokubetsu_jido_fuyo"):
        assert addressee.group(1) == "東京都知事"


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_stylesheet_is_sectioned_scoped_a4_and_flexbox_free(docs: Documents, form_id: str) -> None:
    css = (docs.root / form_id / "style.css").read_text(encoding="utf-8")
    for section in ("fonts", "colours", "page rules", "style"):
        assert f"/* == {section} == */" in css, f"{form_id}/style.css lacks the {section} section"
    assert re.search(r"@page\s*{[^}]*size:\s*A4", css)
    assert not re.search(r"display:\s*(inline-)?(flex|grid)", css)
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "qualified-rule":
            for selector in tinycss2.serialize(rule.prelude).split(","):
                assert selector.strip().startswith(f".f-{form_id}"), (
                    f"{form_id}/style.css: selector {selector.strip()!r} is not scoped"
                )


def test_shared_stylesheets_have_no_flexbox(docs: Documents) -> None:
    for css in (docs.root / "_shared").glob("*.css"):
        assert not re.search(r"display:\s*(inline-)?(flex|grid)", css.read_text()), css
