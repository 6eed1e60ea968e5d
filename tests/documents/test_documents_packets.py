"""Packets, cover sheet, signature, cache, the URL fetcher, sealing and the CLI."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from PIL import Image, ImageChops, ImageDraw

from app.documents.catalog import TemplateError
from app.documents.fetcher import RefusedURL, TemplateFetcher
from app.documents.render import DEFAULT_ROOT, Documents, RenderContext, document_hash
from app.documents.seal import seal_pdf, verify_pdf
from tests.documents.conftest import CONTEXT, page_image, pdf_text, squash

HOKEN = {"id": "hoken_nenkin", "name": "保険年金課", "floor": 1, "counter": "5番"}
SHIMIN = {"id": "shimin", "name": "市民課", "floor": 1, "counter": "1番"}
PROCEDURES = [
    {
        "id": "jumin_tennyu",
        "title": "転入届",
        "department": SHIMIN,
        "deadline": "2025-04-21",
        "deadline_label": "転入した日から14日以内",
        "automatic": False,
        "note": None,
        "bring": ["転出証明書", "本人確認書類"],
        "forms": ["jumin_idou"],
    },
    {
        "id": "kokuho_kanyu",
        "title": "国民健康保険 加入の届出",
        "department": HOKEN,
        "deadline": "2025-04-21",
        "deadline_label": "転入した日から14日以内",
        "automatic": False,
        "note": None,
        "bring": ["本人確認書類"],
        "forms": ["kokuho_shutoku"],
    },
    {
        "id": "inkan_haishi",
        "title": "印鑑登録の廃止",
        "department": SHIMIN,
        "automatic": True,
        "note": "転出届により自動的に廃止されます。",
        "bring": [],
        "forms": [],
    },
]


def result_form(docs: Documents, form_id: str, department: dict[str, Any]) -> dict[str, Any]:
    """A Result ``forms[]`` entry built from a template's sample."""
    template = docs.catalog.form(form_id)
    return {
        "id": form_id,
        "key": form_id,
        "title": template.title,
        "department": department,
        "template": form_id,
        "person": None,
        "fields": template.sample["fields"],
        "rows": template.sample["rows"],
    }


@pytest.fixture
def forms(docs: Documents) -> list[dict[str, Any]]:
    return [
        result_form(docs, "jumin_idou", SHIMIN),
        result_form(docs, "kokuho_shutoku", HOKEN),
        result_form(docs, "inkan_toroku", SHIMIN),
        result_form(docs, "nenkin_todoke", HOKEN),
    ]


def signature_png() -> bytes:
    """A drawn signature, as the resident view sends it."""
    image = Image.new("RGBA", (600, 150), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(20, 120), (150, 30), (300, 110), (580, 40)], fill="black", width=6)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_packet_is_cover_then_every_form_grouped_by_department(
    docs: Documents, forms: list[dict[str, Any]]
) -> None:
    pdf = docs.render_packet_pdf(forms, CONTEXT, procedures=PROCEDURES)
    pages = pdf_text(pdf).split("\f")[:-1]
    assert len(pages) == 5
    cover = squash(pages[0])
    for text in (
        "受付案内票",
        "市民課",
        "1番窓口",
        "保険年金課",
        "5番窓口",
        "転入届",
        "転入した日から14日以内",
        "転出証明書",
        "転出届により自動的に廃止されます",
    ):
        assert squash(text) in cover, text
    # Departments in the order they first appear: 市民課's two forms, then 保険年金課's.
    titles = [
        "住民異動届",
        "印鑑登録申請書",
        "国民健康保険被保険者資格取得届",
        "国民年金被保険者関係届書",
    ]
    for page, title in zip(pages[1:], titles, strict=True):
        assert squash(title) in squash(page)


def test_cover_sheet_without_procedures_lists_the_forms(
    docs: Documents, forms: list[dict[str, Any]]
) -> None:
    pdf = docs.render_packet_pdf(forms, CONTEXT)
    cover = squash(pdf_text(pdf).split("\f")[0])
    assert squash("この冊子に綴じた書類（4件）") in cover
    assert "保険年金課" in cover


def test_department_packet_holds_only_that_departments_forms(
    docs: Documents, forms: list[dict[str, Any]]
) -> None:
    pdf = docs.render_department_pdf([f for f in forms if f["department"] is HOKEN], CONTEXT)
    text = squash(pdf_text(pdf))
    assert "国民健康保険被保険者資格取得届" in text
    assert "住民異動届" not in text
    assert "1/2" in text and "2/2" in text


def test_tagged_packet_is_pdf_ua_with_language_and_title(
    docs: Documents, forms: list[dict[str, Any]]
) -> None:
    pdf = docs.render_packet_pdf(forms, CONTEXT, procedures=PROCEDURES, tagged=True)
    with pikepdf.open(io.BytesIO(pdf)) as reader:
        root = reader.Root
        assert "/StructTreeRoot" in root
        assert bool(root.MarkInfo.Marked)
        assert str(root.Lang).startswith("ja")
        assert str(reader.docinfo.Title) == "申請書類一式"
        assert len(reader.pages) == 5


def signed_pages(pdf: bytes, tmp_path: Path) -> list[str]:
    """Return the numbers of the pages that draw the 600 x 150 signature image."""
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(
        ["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return [
        cols[0]
        for cols in (line.split() for line in listing.splitlines()[2:])
        if cols[2] == "image" and cols[3:5] == ["600", "150"]
    ]


def test_signature_is_placed_in_every_signature_box(
    docs: Documents, forms: list[dict[str, Any]], tmp_path: Path
) -> None:
    context = RenderContext(**{**CONTEXT.__dict__, "signature_png": signature_png()})
    pdf = docs.render_packet_pdf(forms, context, procedures=PROCEDURES)
    assert signed_pages(pdf, tmp_path) == ["2", "3", "4", "5"]  # every form, not the cover
    html = docs.render_form_html("jumin_idou", forms[0], context)
    assert 'alt="届出人の署名"' in html and "data:image/png;base64," in html


def test_signature_lands_inside_the_signature_box_and_nowhere_else(docs: Documents) -> None:
    from app.documents.render import FormDocument, unsigned

    signed = RenderContext(**{**CONTEXT.__dict__, "signature_png": signature_png()})
    sample = docs.catalog.form("kaso_kyoka").sample
    rendered = docs.rendered_forms(
        [FormDocument("kaso_kyoka", sample)], unsigned(signed), title="t"
    )
    (box,) = rendered.sign_boxes
    plain = page_image(docs.render_form_pdf("kaso_kyoka", sample, CONTEXT), dpi=72)
    stamped = page_image(docs.render_form_pdf("kaso_kyoka", sample, signed), dpi=72)
    diff = ImageChops.difference(plain, stamped).getbbox()
    assert diff is not None, "no signature was drawn"
    left, top, right, bottom = diff  # pixels at 72 dpi = points, from the top-left
    height = plain.size[1]
    assert box.x - 1 <= left and right <= box.x + box.width + 1
    assert height - (box.y + box.height) - 1 <= top and bottom <= height - box.y + 1


def test_signature_does_not_change_the_document_hash(docs: Documents) -> None:
    """The hash and its QR are printed before signing; the seal protects the signature."""
    signed = RenderContext(**{**CONTEXT.__dict__, "signature_png": signature_png()})
    sample = docs.catalog.form("kaso_kyoka").sample
    assert document_hash("kaso_kyoka", "1", sample, signed) == document_hash(
        "kaso_kyoka", "1", sample, CONTEXT
    )
    assert docs.render_form_pdf("kaso_kyoka", sample, signed) != docs.render_form_pdf(
        "kaso_kyoka", sample, CONTEXT
    )


def test_tagged_variant_draws_the_signature_inside_the_structure_tree(
    docs: Documents, tmp_path: Path
) -> None:
    signed = RenderContext(**{**CONTEXT.__dict__, "signature_png": signature_png()})
    sample = docs.catalog.form("kaso_kyoka").sample
    pdf = docs.render_form_pdf("kaso_kyoka", sample, signed, tagged=True)
    with pikepdf.open(io.BytesIO(pdf)) as reader:
        assert "/StructTreeRoot" in reader.Root
    path = tmp_path / "tagged.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(
        ["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert any(line.split()[3:5] == ["600", "150"] for line in listing.splitlines()[2:])


def test_values_are_escaped_not_markup(docs: Documents, forms: list[dict[str, Any]]) -> None:
    values = {**forms[0], "fields": {**forms[0]["fields"], "new_address": '<img src="x">'}}
    html = str(docs.render_form_html("jumin_idou", values, CONTEXT))
    assert "&lt;img src=&#34;x&#34;&gt;" in html
    assert '<img src="x">' not in html


def test_a_template_naming_an_unknown_field_fails_loudly(
    docs: Documents, forms: list[dict[str, Any]]
) -> None:
    values = {"fields": {}, "rows": {}}
    with pytest.raises(TemplateError, match="jumin_idou/template.html: .*'idou_shubetsu'"):
        docs.render_form_html("jumin_idou", values, CONTEXT)


def test_cache_rerenders_only_when_values_or_template_change(
    forms: list[dict[str, Any]], tmp_path: Path
) -> None:
    from app.documents.render import FormDocument

    root = tmp_path / "pdf_templates"
    shutil.copytree(DEFAULT_ROOT, root)
    docs = Documents(root, cache_size=8)
    sample = docs.catalog.form("kokuho_shutoku").sample

    def rendered(docs: Documents, values: dict[str, Any]) -> Any:
        return docs.rendered_forms([FormDocument("kokuho_shutoku", values)], CONTEXT, title="t")

    first = rendered(docs, sample)
    assert rendered(docs, sample) is first
    changed = {**sample, "fields": {**sample["fields"], "phone": "03-0000-0000"}}
    assert rendered(docs, changed) is not first

    (root / "kokuho_shutoku" / "style.css").write_text(
        (root / "kokuho_shutoku" / "style.css").read_text() + "\n/* edited */\n"
    )
    from app.documents import catalog

    catalog._CATALOGS.pop(root.resolve())
    edited = Documents(root, cache_size=8)
    edited.cache = docs.cache  # same cache, new template digest: must miss
    assert rendered(edited, sample) is not first


# ---- the URL fetcher ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.org/x.css",
        "https://127.0.0.1/x.png",
        "data:text/html;base64,PGI+aGk8L2I+",
        f"{DEFAULT_ROOT.as_uri()}/../app/__init__.py",
        f"{DEFAULT_ROOT.as_uri()}/jumin_idou/sample.yaml",
    ],
)
def test_fetcher_refuses_and_logs_anything_outside_templates(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    fetcher = TemplateFetcher(DEFAULT_ROOT)
    with caplog.at_level(logging.WARNING, logger="app.documents"), pytest.raises(RefusedURL):
        fetcher.fetch(url)
    assert "refused to fetch" in caplog.text


def test_fetcher_serves_template_stylesheets() -> None:
    response = TemplateFetcher(DEFAULT_ROOT).fetch(f"{DEFAULT_ROOT.as_uri()}/_shared/base.css")
    assert b"@page" in response.read()
    response.close()


def test_renderer_refuses_a_smuggled_file_url(
    docs: Documents, caplog: pytest.LogCaptureFixture
) -> None:
    html = '<section class="kform"><p>x</p><img src="file:///etc/hostname" alt="x"></section>'
    with caplog.at_level(logging.WARNING):
        pdf = docs._pdf("t", [html], ["_shared/base.css"], tagged=False)
    assert pdf.startswith(b"%PDF")
    assert "refused to fetch file:///etc/hostname" in caplog.text


# ---- sealing ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    instance = tmp_path_factory.mktemp("instance")
    docs = Documents(DEFAULT_ROOT, cache_size=0)
    forms = [result_form(docs, "kaso_kyoka", SHIMIN), result_form(docs, "sosaihi_kokuho", HOKEN)]
    context = RenderContext(**{**CONTEXT.__dict__, "signature_png": signature_png()})
    packet = docs.render_packet_pdf(forms, context, procedures=PROCEDURES)
    return seal_pdf(packet, instance, municipality="みどり市"), instance


def test_sealed_packet_verifies(sealed: tuple[bytes, Path]) -> None:
    pdf, instance = sealed
    verdict = verify_pdf(pdf, instance)
    assert verdict.valid, verdict.reason
    assert "みどり市" in (verdict.signer or "")
    assert (instance / "seal" / "seal-key.pem").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("where", [0.2, 0.5, 0.8, 0.999])
def test_packet_altered_by_one_byte_does_not_verify(
    sealed: tuple[bytes, Path], where: float
) -> None:
    pdf, instance = sealed
    altered = bytearray(pdf)
    altered[int(len(pdf) * where)] ^= 0x01
    verdict = verify_pdf(bytes(altered), instance)
    assert not verdict.valid
    assert verdict.reason


def test_unsealed_or_foreign_sealed_packet_does_not_verify(
    sealed: tuple[bytes, Path], tmp_path: Path
) -> None:
    pdf, instance = sealed
    docs = Documents(DEFAULT_ROOT, cache_size=0)
    plain = docs.render_form_pdf("kaso_kyoka", docs.catalog.form("kaso_kyoka").sample, CONTEXT)
    assert "no seal" in verify_pdf(plain, instance).reason
    other = tmp_path / "other-city"
    foreign = seal_pdf(plain, other, municipality="よその市")
    verdict = verify_pdf(foreign, instance)
    assert not verdict.valid and "not this municipality" in verdict.reason


# ---- the CLI -------------------------------------------------------------------------------


def test_cli_preview_writes_the_sample_pdf(runner: Any, tmp_path: Path) -> None:
    target = tmp_path / "preview.pdf"
    result = runner.invoke(args=["documents", "preview", "tennyugaku", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"%PDF")
    assert "児童生徒" in pdf_text(target.read_bytes())


def test_cli_preview_writes_the_tagged_variant(runner: Any, tmp_path: Path) -> None:
    target = tmp_path / "tagged.pdf"
    result = runner.invoke(
        args=["documents", "preview", "kaso_kyoka", "--tagged", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    with pikepdf.open(target) as pdf:
        assert "/StructTreeRoot" in pdf.Root
        assert str(pdf.Root.Lang).startswith("ja")
        assert str(pdf.docinfo.Title) == "火葬許可申請書"


def test_cli_preview_names_unknown_forms(runner: Any) -> None:
    result = runner.invoke(args=["documents", "preview", "no_such_form"])
    assert result.exit_code == 1
    assert "no template for form 'no_such_form'" in result.output
    assert "jumin_idou" in result.output


def test_cli_verify_reports_valid_and_invalid(app: Any, runner: Any, tmp_path: Path) -> None:
    docs = Documents(DEFAULT_ROOT, cache_size=0)
    packet = docs.render_packet_pdf([result_form(docs, "inu_henko", SHIMIN)], CONTEXT)
    good = tmp_path / "good.pdf"
    good.write_bytes(seal_pdf(packet, app.instance_path, municipality="みどり市"))
    result = runner.invoke(args=["documents", "verify", str(good)])
    assert result.exit_code == 0, result.output
    assert "valid: sealed by" in result.output

    bad = tmp_path / "bad.pdf"
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0x20
    bad.write_bytes(bytes(data))
    result = runner.invoke(args=["documents", "verify", str(bad)])
    assert result.exit_code == 1
    assert "invalid:" in result.output


@pytest.fixture(scope="module")
def pooled() -> Any:
    """A renderer whose packets go to two worker processes, as the app's do."""
    pooled = Documents(DEFAULT_ROOT, cache_size=16)
    pooled.workers = 2
    assert pooled.pool is None  # workers start with the first packet, not before
    yield pooled
    if pooled.pool is not None:
        pooled.pool.close()


def test_packet_rendered_in_halves_by_workers_matches_one_process(
    docs: Documents, pooled: Documents, forms: list[dict[str, Any]]
) -> None:
    from app.documents.pool import DocumentPool
    from app.documents.render import FormDocument, group_by_department

    parallel = pooled.render_packet_pdf(forms, CONTEXT, procedures=PROCEDURES)
    assert isinstance(pooled.pool, DocumentPool)
    grouped = [d for g in group_by_department([FormDocument.of(f) for f in forms]) for d in g]
    pieces = pooled.rendered_packet(grouped, CONTEXT, PROCEDURES)
    assert len(pieces) == 2 and sum(piece.pages for piece in pieces) == 5  # two halves
    again = pooled.render_packet_pdf(forms, CONTEXT, procedures=PROCEDURES)
    sequential = docs.render_packet_pdf(forms, CONTEXT, procedures=PROCEDURES)
    assert pdf_text(parallel) == pdf_text(sequential)
    assert pdf_text(again) == pdf_text(parallel)  # served from the cache


def test_packet_pages_are_numbered_through_the_whole_packet(
    docs: Documents, pooled: Documents, forms: list[dict[str, Any]]
) -> None:
    for renderer in (docs, pooled):
        text = pdf_text(renderer.render_packet_pdf(forms, CONTEXT, procedures=PROCEDURES))
        assert [squash(p)[-3:] for p in text.split("\f")[:-1]] == [f"{n}/5" for n in range(1, 6)]
    department = [f for f in forms if f["department"] is HOKEN]
    text = pdf_text(docs.render_department_pdf(department, CONTEXT))
    assert [squash(p)[-3:] for p in text.split("\f")[:-1]] == ["1/2", "2/2"]


def test_joined_packet_has_every_forms_values_and_hash(
    pooled: Documents, forms: list[dict[str, Any]]
) -> None:
    from tests.documents.conftest import filled_values

    context = RenderContext(**{**CONTEXT.__dict__, "case_number": "2025-0077"})
    pdf = pooled.render_packet_pdf(forms, context, procedures=PROCEDURES)
    pages = [squash(p) for p in pdf_text(pdf).split("\f")[:-1]]
    by_form = {f["id"]: f for f in forms}
    order = ["jumin_idou", "inkan_toroku", "kokuho_shutoku", "nenkin_todoke"]
    for page, form_id in zip(pages[1:], order, strict=True):
        form = by_form[form_id]
        for value in filled_values(form):
            assert squash(value) in page, (form_id, value)
        template = pooled.catalog.form(form_id)
        digest = document_hash(form_id, template.version, form, context)
        assert digest[:16] in page  # the footer of each form is its own
    # The hash QR of a page in the second half still decodes to its form's hash.
    import zxingcpp

    from app.documents.render import qr_payload

    last = by_form[order[-1]]
    template = pooled.catalog.form(order[-1])
    codes = zxingcpp.read_barcodes(page_image(pdf, len(pages)))
    expected = qr_payload(document_hash(order[-1], template.version, last, context))
    assert [c.text for c in codes if c.format == zxingcpp.BarcodeFormat.QRCode] == [expected]


def test_joined_packet_pages_look_like_each_form_alone(
    pooled: Documents, forms: list[dict[str, Any]]
) -> None:
    """Laid out in pieces and joined, a page is the form alone but for its page number."""
    pdf = pooled.render_packet_pdf(forms, CONTEXT, procedures=PROCEDURES)
    alone = {
        f["id"]: pooled.render_form_pdf(f["id"], f, CONTEXT)
        for f in forms  # each "1 / 1"
    }
    order = ["jumin_idou", "inkan_toroku", "kokuho_shutoku", "nenkin_todoke"]
    for number, form_id in enumerate(order, start=2):
        packet_page = page_image(pdf, number, dpi=60)
        form_page = page_image(alone[form_id], 1, dpi=60)
        difference = ImageChops.difference(packet_page, form_page).getbbox()
        assert difference is not None  # the page number differs: "2 / 5" against "1 / 1"
        left, top, _right, _bottom = difference
        width, height = packet_page.size
        assert left > width * 0.85 and top > height * 0.9, (form_id, difference)


def test_joined_packet_embeds_each_font_subset_under_its_own_name(
    pooled: Documents, forms: list[dict[str, Any]], tmp_path: Path
) -> None:
    from tests.documents.conftest import pdf_fonts

    pdf = pooled.render_packet_pdf(forms, CONTEXT, procedures=PROCEDURES)
    rows = [line.split() for line in pdf_fonts(pdf, tmp_path).splitlines()[2:]]
    names = [row[0] for row in rows]
    assert len(names) >= 3  # a subset per half, and the page numbers'
    assert len(set(names)) == len(names)  # ISO 32000 9.6.4: one tag per subset
    for row in rows:
        assert "IPAexGothic" in row[0]
        assert row[-5:-2] == ["yes", "yes", "yes"], row  # embedded, subset, ToUnicode


def test_signed_packet_rendered_in_halves_verifies(
    pooled: Documents, forms: list[dict[str, Any]], tmp_path: Path
) -> None:
    context = RenderContext(**{**CONTEXT.__dict__, "signature_png": signature_png()})
    pooled.prepare_packet(forms, context, procedures=PROCEDURES)  # unsigned, into the cache
    packet = pooled.render_packet_pdf(forms, context, procedures=PROCEDURES)
    assert signed_pages(packet, tmp_path) == ["2", "3", "4", "5"]
    sealed = seal_pdf(packet, tmp_path, municipality="みどり市")
    assert verify_pdf(sealed, tmp_path).valid
    altered = bytearray(sealed)
    altered[len(sealed) // 2] ^= 0x01
    assert not verify_pdf(bytes(altered), tmp_path).valid


def test_balanced_runs_cut_in_document_order_at_about_equal_cost() -> None:
    from app.documents.render import Part, balanced_runs

    def parts(*sizes: int) -> list[Part]:
        return [Part("x" * size, ()) for size in sizes]

    def sizes(runs: list[list[Part]]) -> list[list[int]]:
        return [[len(p.html) for p in run] for run in runs]

    assert sizes(balanced_runs(parts(5, 4, 3, 3, 3, 5, 3, 6, 3), 2)) == [
        [5, 4, 3, 3, 3],
        [5, 3, 6, 3],
    ]
    # One big department does not serialise the packet: its forms go to either half.
    assert sizes(balanced_runs(parts(2, 3, 3, 3, 3), 2)) == [[2, 3, 3], [3, 3]]
    assert sizes(balanced_runs(parts(9, 1, 1), 2)) == [[9], [1, 1]]
    assert sizes(balanced_runs(parts(1, 1, 1, 1), 3)) == [[1], [1, 1], [1]]
    assert sizes(balanced_runs(parts(4), 2)) == [[4]]
    assert sizes(balanced_runs(parts(1, 1), 1)) == [[1, 1]]


def test_packet_survives_a_dead_worker(
    docs: Documents, forms: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    import os
    import signal

    from app.documents.pool import DocumentPool

    pooled = Documents(DEFAULT_ROOT, cache_size=0)
    pooled.pool = DocumentPool(str(pooled.root), workers=1)
    try:
        pooled.pool.wait_ready()
        for pid in list(pooled.pool.executor._processes):
            os.kill(pid, signal.SIGKILL)
        with caplog.at_level(logging.ERROR):
            pdf = pooled.render_packet_pdf(forms, CONTEXT, procedures=PROCEDURES)
        assert "render workers died" in caplog.text
        assert pdf_text(pdf) == pdf_text(
            docs.render_packet_pdf(forms, CONTEXT, procedures=PROCEDURES)
        )
        assert pooled.render_packet_pdf(forms, CONTEXT, procedures=PROCEDURES)  # new workers
    finally:
        pooled.pool.close()


def test_cli_packet_evaluates_facts_and_writes_the_packet(runner: Any, tmp_path: Path) -> None:
    import json

    from app.engine import load
    from tests.documents.conftest import ROOT

    ruleset = load([ROOT / "procedure_rules", ROOT / "form_definitions"])
    scenario = next(s for s in ruleset.scenarios if "犬の飼い主" in s.name)
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(scenario.facts, ensure_ascii=False, default=str))
    target = tmp_path / "packet.pdf"
    result = runner.invoke(
        args=[
            "documents",
            "packet",
            "--facts",
            str(facts),
            "--as-of",
            scenario.as_of.isoformat(),
            "-o",
            str(target),
        ]
    )
    assert result.exit_code == 0, result.output
    text = squash(pdf_text(target.read_bytes()))
    assert "受付案内票" in text and "犬の登録事項変更届" in text and "火葬許可申請書" in text


def test_packet_and_the_same_forms_as_one_document_are_cached_apart(
    forms: list[dict[str, Any]],
) -> None:
    cached = Documents(DEFAULT_ROOT, cache_size=8)
    packet = cached.render_packet_pdf(forms, CONTEXT, procedures=PROCEDURES)
    grouped = [forms[0], forms[2], forms[1], forms[3]]  # as the packet groups them
    one = cached.render_forms_pdf(grouped, CONTEXT, procedures=PROCEDURES)
    assert pdf_text(one) == pdf_text(packet)
