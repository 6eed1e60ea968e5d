"""The renderer's own HTML parsing builds exactly the tree WeasyPrint's parser would.

``layout.parse_html`` (libxml2, in C) replaces WeasyPrint's tinyhtml5 (pure Python) for
speed; the layout is only the same if the element tree is. These tests compare the two
trees for every template's sample, every scenario's forms and cover sheets, and markup
where the two parsers differ (rows without ``tbody``, text after ``</body>``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator

import pytest
import tinyhtml5

from app.documents.layout import parse_html
from app.documents.render import Documents, FormDocument, RenderContext
from app.engine import evaluate, load
from tests.documents.conftest import CONTEXT, ROOT


def html5_tree(source: str) -> str:
    """Serialise the tree WeasyPrint's own parser (tinyhtml5) builds."""
    return ElementTree.tostring(
        tinyhtml5.parse(source, namespace_html_elements=False), encoding="unicode"
    )


def fast_tree(source: str) -> str:
    return ElementTree.tostring(parse_html(source), encoding="unicode")


def documents(docs: Documents) -> Iterator[tuple[str, str]]:
    """Yield (name, standalone HTML document) as the layout renders them."""
    for template in docs.catalog.forms.values():
        html = docs.render_form_html(template.form_id, template.sample, CONTEXT)
        yield template.form_id, docs.layout.document_html(template.title, [html], ())
    ruleset = load([ROOT / "procedure_rules", ROOT / "form_definitions"])
    for i, scenario in enumerate(ruleset.scenarios):
        result = evaluate(ruleset, scenario.facts, scenario.as_of).to_json()
        context = RenderContext(
            case_number=f"P-{i:03d}",
            ruleset_version=result["ruleset_version"],
            municipality=ruleset.municipality.name,
        )
        forms = [FormDocument.of(f) for f in result["forms"]]
        for doc in forms:
            html = docs.render_form_html(doc.form_id, doc.values, context)
            yield f"{scenario.name}: {doc.key}", docs.layout.document_html("", [html], ())
        cover = docs.render_cover_html(result["procedures"], context, forms=forms)
        yield f"{scenario.name}: cover", docs.layout.document_html("", [cover], ())


def test_every_form_and_cover_sheet_parses_to_the_html5_tree(docs: Documents) -> None:
    checked = 0
    for name, source in documents(docs):
        assert fast_tree(source) == html5_tree(source), name
        checked += 1
    assert checked >= 100


@pytest.mark.parametrize(
    "source",
    [
        # Rows written directly in a table: HTML5 implies a tbody (after the colgroup).
        "<!DOCTYPE html><html><head><title>t</title></head><body><table><colgroup><col>"
        "</colgroup><tr><td>a</td></tr><tr><td>b</td></tr></table></body></html>",
        # Rows after an explicit thead, and a comment.
        "<!DOCTYPE html><html><head></head><body><table><thead><tr><th>h</th></tr></thead>"
        "<!-- c --><tr><td>a</td></tr></table><p>x &amp; y<br>z</p></body></html>",
        # Line breaks around head and body (document.html has them).
        "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n</head>\n"
        "<body>\n<section>本文</section>\n</body>\n</html>\n",
    ],
)
def test_markup_where_the_parsers_differ_parses_to_the_html5_tree(source: str) -> None:
    assert fast_tree(source) == html5_tree(source)
