"""Layout: HTML fragments → WeasyPrint documents → PDF bytes; all a PDF worker imports.

The web process's ``Documents`` (render.py) decides what to render and caches it; this
module only lays out and writes, so the worker processes of ``pool.py`` import it alone.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cssselect2
import lxml.etree
import lxml.html
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from app.documents.cache import LRU
from app.documents.catalog import SHARED, Catalog
from app.documents.fetcher import TemplateFetcher
from app.documents.stamp import Rendered, SignBox, assemble

DOCUMENT_TEMPLATE = f"{SHARED}/document.html"
PAGE_NUMBER_STYLESHEET = f"{SHARED}/page-number.css"
# The numbering sheet takes the forms' page rule (size, margins) and the page number's.
NUMBERING_STYLESHEETS = (f"{SHARED}/base.css", PAGE_NUMBER_STYLESHEET)
PDF_UA = "pdf/ua-1"
PT_PER_PX = 0.75  # WeasyPrint lays out in CSS px (1/96 in); PDF user space is in points


@dataclass(frozen=True)
class Part:
    """One form or cover sheet of a document: its HTML fragment and its stylesheets."""

    html: str
    stylesheets: tuple[str, ...]


def parse_html(source: str) -> ElementTree.Element:
    """Parse a document the templates wrote into the tree WeasyPrint's own parser builds.

    WeasyPrint parses with tinyhtml5, an HTML5 parser in pure Python: about 7 ms of every
    form, a twentieth of its render. libxml2 (through lxml, which pikepdf requires) parses
    the same markup in a fiftieth of that; its tree is copied into ElementTree elements
    (WeasyPrint's tree type). Where HTML5 parsing differs from libxml2's on our markup, the
    tree is made as HTML5 makes it: rows written directly in a table get the implied
    ``tbody``; the white space after ``</body>`` (or ``</html>``) moves into the body; the
    white space before ``<head>`` is dropped. tests/documents/test_documents_parse.py checks
    that the trees are the same for every template, scenario form and cover sheet.
    """
    root = _element_tree(lxml.html.document_fromstring(source))
    for table in root.iter("table"):
        children: list[ElementTree.Element] = []
        body: ElementTree.Element | None = None
        for child in table:
            if child.tag != "tr":
                body = None
                children.append(child)
                continue
            if body is None:
                body = ElementTree.Element("tbody")
                children.append(body)
            body.append(child)
        table[:] = children
    if root.text is not None and not root.text.strip():
        root.text = None
    body_element = root.find("body")
    trailing = source[len(source.rstrip()) :] if source.rstrip().endswith("</html>") else ""
    moved = (body_element.tail or "") + trailing if body_element is not None else ""
    if body_element is not None and moved:
        if len(body_element):
            last = body_element[-1]
            last.tail = (last.tail or "") + moved
        else:
            body_element.text = (body_element.text or "") + moved
        body_element.tail = None
    return root


def _element_tree(source: Any) -> ElementTree.Element:
    """Copy an lxml element and its descendants into ElementTree elements."""
    element = ElementTree.Element(source.tag, dict(source.attrib))
    element.text, element.tail = source.text, source.tail
    for child in source:
        if isinstance(child.tag, str):
            element.append(_element_tree(child))
        elif child.tag is lxml.etree.Comment:
            comment = ElementTree.Comment(child.text)
            comment.tail = child.tail
            element.append(comment)
        elif child.tail:  # a processing instruction: keep the text after it
            if len(element):
                element[-1].tail = (element[-1].tail or "") + child.tail
            else:
                element.text = (element.text or "") + child.tail
    return element


def html_document(source: str, base_url: str, url_fetcher: Any) -> HTML:
    """Return WeasyPrint's HTML object for ``source``, parsed by ``parse_html``.

    ``HTML`` has no constructor for a parsed tree; this sets the attributes its
    constructor sets after parsing (our documents carry no ``<base>``, so the base URL is
    the one given).
    """
    html: HTML = HTML.__new__(HTML)
    html.base_url = base_url
    html.url_fetcher = url_fetcher
    html.media_type = "print"
    html.wrapper_element = cssselect2.ElementWrapper.from_html_root(
        parse_html(source), content_language=None
    )
    html.etree_element = html.wrapper_element.etree_element
    return html


class Layout:
    """Lay out parts of one templates root and write them as PDF (fonts and CSS kept warm)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.root = catalog.root
        self.fetcher = TemplateFetcher(self.root)
        self._css: dict[str, CSS] = {}
        self._css_lock = threading.Lock()
        self._numbers = LRU(64)  # numbering sheets by page count (no personal data)
        # One font configuration kept across renders: WeasyPrint otherwise builds a new Pango
        # font map per document; reusing it keeps Pango's font and shaping caches warm
        # (about a fifth off every render). Pango objects are not thread-safe, so renders
        # take turns; they hold the GIL throughout anyway, so threads lose no parallelism.
        self._font_config = FontConfiguration()
        self._render_lock = threading.Lock()

    def document_html(self, title: str, parts: Iterable[str], stylesheets: Iterable[str]) -> str:
        """Wrap fragments into one standalone HTML document (lang, title, stylesheet links)."""
        return self.catalog.render(
            DOCUMENT_TEMPLATE,
            title=title,
            parts=[Markup(p) for p in parts],  # noqa: S704  (rendered fragments)
            stylesheets=list(dict.fromkeys(stylesheets)),
        )

    def stylesheet(self, name: str) -> CSS:
        with self._css_lock:
            if name not in self._css:
                path = self.root / name
                self._css[name] = CSS(
                    string=path.read_text(encoding="utf-8"),
                    base_url=path.as_uri(),
                    url_fetcher=self.fetcher,
                )
            return self._css[name]

    def lay_out(self, title: str, html: str, stylesheets: Iterable[str], tagged: bool) -> Any:
        """Lay out one HTML document (call under the render lock); return WeasyPrint's Document."""
        source = self.document_html(title, [html], ())
        return html_document(source, self.root.as_uri() + "/", self.fetcher).render(
            stylesheets=[self.stylesheet(n) for n in dict.fromkeys(stylesheets)],
            font_config=self._font_config,
            pdf_tags=tagged,
        )

    def rendered_parts(self, title: str, parts: Sequence[Part]) -> Rendered:
        """Lay out each part (a form, the cover sheet) on its own, then write ONE PDF of them.

        Laying out a part alone is cheaper than laying out many as one document: each part
        is matched against its own stylesheets only, and WeasyPrint lays every page out a
        second time when it meets a running element (our footer) on a page after the first.
        The pages are written together (``Document.copy``), so the PDF embeds one subset
        per font. Pages are not numbered here: ``finish`` numbers the joined packet.
        """
        if not parts:
            raise ValueError("a document needs at least one form or a cover sheet")
        with self._render_lock:
            laid = [self.lay_out(title, p.html, p.stylesheets, False) for p in parts]
            document = laid[0].copy([page for doc in laid for page in doc.pages])
            pdf: bytes = document.write_pdf()
            boxes = tuple(sign_boxes(document))
        return Rendered(pdf, len(document.pages), boxes)

    def render_tagged(self, title: str, parts: Sequence[Part]) -> bytes:
        """Lay out parts as ONE HTML document and write the PDF/UA variant (numbered by CSS).

        The structure tree is the document's: joining PDFs would break it, so the tagged
        variant is never laid out in pieces.
        """
        stylesheets = [s for p in parts for s in p.stylesheets] + [PAGE_NUMBER_STYLESHEET]
        html = "".join(p.html for p in parts)
        with self._render_lock:
            document = self.lay_out(title, html, stylesheets, True)
            pdf: bytes = document.write_pdf(pdf_variant=PDF_UA)
        return pdf

    def page_numbers(self, total: int) -> bytes:
        """Return the numbering sheet of a ``total``-page document: blank pages with "x / N".

        It depends on nothing but ``total``, so it is rendered once per size and kept.
        """
        sheet: bytes | None = self._numbers.get(total)
        if sheet is None:
            blank = Part('<div class="knumber-page"></div>' * total, NUMBERING_STYLESHEETS)
            with self._render_lock:
                sheet = self.lay_out("", blank.html, blank.stylesheets, False).write_pdf()
            assert sheet is not None
            self._numbers.put(total, sheet)
        return sheet

    def finish(self, pieces: Sequence[Rendered], signature_png: bytes | None, title: str) -> bytes:
        """Join rendered pieces into the PDF handed out: pages numbered through, signed."""
        total = sum(piece.pages for piece in pieces)
        return assemble(pieces, signature_png, title, self.page_numbers(total))

    def warm_up(self, parts: Sequence[Part]) -> None:
        """Load every stylesheet and lay ``parts`` out once, so the first real PDF is fast."""
        for template in self.catalog.forms.values():
            for name in template.stylesheets:
                self.stylesheet(name)
        for name in NUMBERING_STYLESHEETS:
            self.stylesheet(name)
        if parts:
            self.rendered_parts("warm-up", parts)
        self.page_numbers(1)  # a single form's


def sign_boxes(document: Any) -> Iterator[SignBox]:
    """Yield where each signature box (``div.ksign-box``) landed, in PDF points.

    WeasyPrint has no public API for box positions; ``_page_box`` is its laid-out tree.
    """
    for number, page in enumerate(document.pages):
        for box in page._page_box.descendants(placeholders=True):
            box = getattr(box, "_box", box)  # absolutely positioned boxes sit in placeholders
            element = box.element
            if element is None or box.element_tag != "div":
                continue
            if "ksign-box" not in (element.get("class") or "").split():
                continue
            x, y = box.content_box_x(), box.content_box_y()
            yield SignBox(
                number,
                x * PT_PER_PX,
                (page.height - y - box.height) * PT_PER_PX,
                box.width * PT_PER_PX,
                box.height * PT_PER_PX,
            )
