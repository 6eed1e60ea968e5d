"""One renderer: a form's template gives the on-screen HTML and, through WeasyPrint, the PDF.

The renderer takes *values*, not facts: ``{"fields": …, "rows": …}`` exactly as the engine's
Result gives them for a form (already formatted for print), plus a context (case number,
rule-set version, municipality, the resident's signature).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import segno
from jinja2 import UndefinedError
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from app.documents.catalog import (
    SHARED,
    Catalog,
    FormTemplate,
    TemplateError,
    catalog_for,
    record_of,
)
from app.documents.fetcher import TemplateFetcher

log = logging.getLogger("app.documents")

DEFAULT_ROOT = Path(__file__).resolve().parent.parent.parent / "pdf_templates"
COVER_TEMPLATE = f"{SHARED}/cover.html"
DOCUMENT_TEMPLATE = f"{SHARED}/document.html"
COVER_STYLESHEETS = (f"{SHARED}/base.css", f"{SHARED}/cover.css")
PDF_UA = "pdf/ua-1"


@dataclass(frozen=True)
class RenderContext:
    """What a document shows besides its values: whose case, which rules, which city, signed."""

    case_number: str = ""
    ruleset_version: str = ""
    municipality: str = ""
    signature_png: bytes | None = field(default=None, repr=False)

    @classmethod
    def of(cls, value: RenderContext | Mapping[str, Any] | None) -> RenderContext:
        """Accept a RenderContext or a mapping with the same keys."""
        if isinstance(value, RenderContext):
            return value
        value = dict(value or {})
        unknown = set(value) - {"case_number", "ruleset_version", "municipality", "signature_png"}
        if unknown:
            raise TypeError(f"unknown render context keys: {sorted(unknown)}")
        return cls(**value)

    @property
    def signature_sha256(self) -> str | None:
        """Return the hash of the signature image, part of what a document's hash covers."""
        return hashlib.sha256(self.signature_png).hexdigest() if self.signature_png else None


@dataclass(frozen=True)
class FormDocument:
    """One form to print: the engine's Result form entry reduced to what the renderer needs."""

    form_id: str
    values: Mapping[str, Any]
    key: str = ""
    department: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""

    @classmethod
    def of(cls, form: FormDocument | Mapping[str, Any]) -> FormDocument:
        """Accept a Result ``forms[]`` entry (``template`` names the folder) or a FormDocument."""
        if isinstance(form, FormDocument):
            return form
        form_id = form.get("template") or form["id"]
        return cls(
            form_id=form_id,
            values={"fields": form.get("fields") or {}, "rows": form.get("rows") or {}},
            key=form.get("key") or form_id,
            department=form.get("department") or {},
            title=form.get("title") or "",
        )


def _canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def document_hash(
    form_id: str, version: str, values: Mapping[str, Any], context: RenderContext
) -> str:
    """Return the SHA-256 that identifies a printed document: form, values, case, signature."""
    return hashlib.sha256(
        _canonical(
            {
                "form": form_id,
                "template_version": version,
                "fields": values.get("fields") or {},
                "rows": values.get("rows") or {},
                "case": context.case_number,
                "ruleset": context.ruleset_version,
                "municipality": context.municipality,
                "signature": context.signature_sha256,
            }
        )
    ).hexdigest()


_LAYOUT_WHITESPACE = re.compile(r">\s*\n\s*<")


def compact(html: str) -> str:
    """Drop the line breaks between tags that only lay out the template's source.

    WeasyPrint makes an anonymous box of every such whitespace run; a form has hundreds.
    Spaces within a line (between inline elements) are kept: they may be meant.
    """
    return _LAYOUT_WHITESPACE.sub("><", html)


def qr_payload(digest: str) -> str:
    """Return the text the footer QR encodes for a document hash."""
    return f"sha256:{digest}"


@functools.lru_cache(maxsize=256)
def hash_qr_uri(digest: str) -> str:
    """Return the QR of a document hash as a PNG data URL (segno, UTF-8 with ECI).

    One pixel per module, printed at 18 mm without interpolation (``image-rendering:
    pixelated``): crisp at any resolution and much cheaper for WeasyPrint than an SVG path.
    """
    qr = segno.make_qr(qr_payload(digest), encoding="utf-8", eci=True, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=1, border=2)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def png_uri(png: bytes | None) -> str | None:
    """Return a PNG as a data URL for an <img>, or None."""
    if not png:
        return None
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("the signature must be a PNG image")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


class _LRU:
    """A small thread-safe in-memory cache of rendered PDFs (never on disk: personal data)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: bytes) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Documents:
    """The renderer for one templates root: HTML fragments, form PDFs, packets, cache."""

    def __init__(self, root: Path | str = DEFAULT_ROOT, *, cache_size: int = 64) -> None:
        self.catalog: Catalog = catalog_for(root)
        self.root = self.catalog.root
        self.fetcher = TemplateFetcher(self.root)
        self.cache = _LRU(cache_size)
        self._css: dict[str, CSS] = {}
        self._css_lock = threading.Lock()
        self.pool: Any = None  # a DocumentPool when parallel packet rendering is on
        # One font configuration kept across renders: WeasyPrint otherwise builds a new Pango
        # font map per document; reusing it keeps Pango's font and shaping caches warm
        # (about a fifth off every render). Pango objects are not thread-safe, so renders
        # take turns; they hold the GIL throughout anyway, so threads lose no parallelism.
        self._font_config = FontConfiguration()
        self._render_lock = threading.Lock()

    # ---- HTML ---------------------------------------------------------------------------

    def render_form_html(
        self,
        form_id: str,
        values: Mapping[str, Any],
        context: RenderContext | Mapping[str, Any] | None = None,
    ) -> Markup:
        """Render one form as an HTML fragment (the on-screen preview and the PDF's body)."""
        ctx = RenderContext.of(context)
        template = self.catalog.form(form_id)
        digest = document_hash(form_id, template.version, values, ctx)
        fields, rows = record_of(values)
        try:
            html = self.catalog.render(
                f"{form_id}/template.html",
                form=template,
                fields=fields,
                rows=rows,
                ctx=ctx,
                doc_hash=digest,
                hash_qr=hash_qr_uri(digest),
                signature=png_uri(ctx.signature_png),
            )
        except UndefinedError as exc:
            raise TemplateError(
                f"{template.folder / 'template.html'}: {exc.message} (the template prints a "
                f"value the form's values lack: align it with form_definitions/{form_id}.yaml)"
            ) from exc
        return Markup(compact(html))  # noqa: S704  (output of an autoescaping template)

    def render_cover_html(
        self,
        procedures: Sequence[Mapping[str, Any]],
        context: RenderContext | Mapping[str, Any] | None = None,
        *,
        forms: Sequence[FormDocument] = (),
    ) -> Markup:
        """Render the cover sheet (受付案内票): each procedure by department, counter, deadline."""
        ctx = RenderContext.of(context)
        departments: dict[str, dict[str, Any]] = {}
        for procedure in procedures:
            dept = procedure.get("department") or {}
            entry = departments.setdefault(
                dept.get("id") or dept.get("name") or "", {"department": dept, "procedures": []}
            )
            entry["procedures"].append(procedure)
        digest = hashlib.sha256(
            _canonical(
                {
                    "cover": list(procedures),
                    "forms": [f.key for f in forms],
                    "case": ctx.case_number,
                    "ruleset": ctx.ruleset_version,
                }
            )
        ).hexdigest()
        html = self.catalog.render(
            COVER_TEMPLATE,
            departments=list(departments.values()),
            forms=forms,
            ctx=ctx,
            doc_hash=digest,
            hash_qr=hash_qr_uri(digest),
        )
        return Markup(compact(html))  # noqa: S704  (output of an autoescaping template)

    def document_html(self, title: str, parts: Iterable[str], stylesheets: Iterable[str]) -> str:
        """Wrap fragments into one standalone HTML document (lang, title, stylesheet links)."""
        return self.catalog.render(
            DOCUMENT_TEMPLATE,
            title=title,
            parts=[Markup(p) for p in parts],  # noqa: S704  (rendered fragments)
            stylesheets=list(dict.fromkeys(stylesheets)),
        )

    # ---- PDF ----------------------------------------------------------------------------

    def _stylesheet(self, name: str) -> CSS:
        with self._css_lock:
            if name not in self._css:
                path = self.root / name
                self._css[name] = CSS(
                    string=path.read_text(encoding="utf-8"),
                    base_url=path.as_uri(),
                    url_fetcher=self.fetcher,
                )
            return self._css[name]

    def _pdf(
        self, title: str, parts: Sequence[str], stylesheets: Sequence[str], tagged: bool
    ) -> bytes:
        names = list(dict.fromkeys(stylesheets))
        sheets = [self._stylesheet(n) for n in names]
        source = self.document_html(title, parts, ())
        with self._render_lock:
            html = HTML(string=source, base_url=self.root.as_uri() + "/", url_fetcher=self.fetcher)
            pdf: bytes = html.write_pdf(
                stylesheets=sheets,
                font_config=self._font_config,
                pdf_variant=PDF_UA if tagged else None,
            )
        return pdf

    def render_form_pdf(
        self,
        form_id: str,
        values: Mapping[str, Any],
        context: RenderContext | Mapping[str, Any] | None = None,
        *,
        tagged: bool = False,
    ) -> bytes:
        """Render one form as a PDF, from the cache when unchanged.

        ``tagged=True`` gives the PDF/UA-1 variant (a structure tree for screen readers);
        it costs about 7% more to write, so print and preview PDFs go without it.
        """
        ctx = RenderContext.of(context)
        template = self.catalog.form(form_id)
        key = self._form_key(template, values, ctx, tagged)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        fragment = self.render_form_html(form_id, values, ctx)
        pdf = self._pdf(template.title, [fragment], template.stylesheets, tagged)
        self.cache.put(key, pdf)
        return pdf

    def _form_key(
        self, template: FormTemplate, values: Mapping[str, Any], ctx: RenderContext, tagged: bool
    ) -> str:
        digest = document_hash(template.form_id, template.version, values, ctx)
        return hashlib.sha256(f"{digest}:{template.digest}:{tagged}".encode()).hexdigest()

    def forms_key(
        self,
        docs: Sequence[FormDocument],
        ctx: RenderContext,
        *,
        procedures: Sequence[Mapping[str, Any]] | None,
        title: str,
        tagged: bool,
    ) -> str:
        """Return the cache key of a document of forms: their values and template versions."""
        keys = [self._form_key(self.catalog.form(d.form_id), d.values, ctx, tagged) for d in docs]
        return hashlib.sha256(
            _canonical(
                {
                    "forms": keys,
                    "procedures": list(procedures) if procedures is not None else None,
                    "context": [ctx.case_number, ctx.ruleset_version, ctx.municipality],
                    "title": title,
                    "tagged": tagged,
                }
            )
        ).hexdigest()

    def render_forms_pdf(
        self,
        forms: Sequence[FormDocument | Mapping[str, Any]],
        context: RenderContext | Mapping[str, Any] | None = None,
        *,
        procedures: Sequence[Mapping[str, Any]] | None = None,
        title: str = "",
        tagged: bool = False,
    ) -> bytes:
        """Render forms (and a cover sheet when ``procedures`` is given) as ONE HTML document."""
        ctx = RenderContext.of(context)
        docs = [FormDocument.of(f) for f in forms]
        title = title or "申請書類一式"
        key = self.forms_key(docs, ctx, procedures=procedures, title=title, tagged=tagged)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        parts: list[str] = []
        stylesheets: list[str] = [f"{SHARED}/base.css"]
        if procedures is not None:
            parts.append(self.render_cover_html(procedures, ctx, forms=docs))
            stylesheets.extend(COVER_STYLESHEETS)
        for doc in docs:
            parts.append(self.render_form_html(doc.form_id, doc.values, ctx))
            stylesheets.extend(self.catalog.form(doc.form_id).stylesheets)
        pdf = self._pdf(title, parts, stylesheets, tagged)
        self.cache.put(key, pdf)
        return pdf

    def cover_key(
        self,
        procedures: Sequence[Mapping[str, Any]],
        ctx: RenderContext,
        forms: Sequence[FormDocument],
    ) -> str:
        """Return the cache key of a cover sheet."""
        return hashlib.sha256(
            _canonical(
                {
                    "cover": list(procedures),
                    "forms": [[f.key, f.title, dict(f.department)] for f in forms],
                    "context": [ctx.case_number, ctx.ruleset_version, ctx.municipality],
                }
            )
        ).hexdigest()

    def render_cover_pdf(
        self,
        procedures: Sequence[Mapping[str, Any]],
        context: RenderContext | Mapping[str, Any] | None = None,
        *,
        forms: Sequence[FormDocument] = (),
    ) -> bytes:
        """Render the cover sheet (受付案内票) alone as a PDF."""
        ctx = RenderContext.of(context)
        key = self.cover_key(procedures, ctx, forms)
        cached = self.cache.get(key)
        if cached is None:
            cover = self.render_cover_html(procedures, ctx, forms=forms)
            cached = self._pdf("受付案内票", [cover], COVER_STYLESHEETS, False)
            self.cache.put(key, cached)
        return cached

    def department_key(self, docs: Sequence[FormDocument], ctx: RenderContext) -> str:
        """Return the cache key of one department's document."""
        return self.forms_key(
            docs, ctx, procedures=None, title=_department_title(docs), tagged=False
        )

    def render_department_pdf(
        self,
        forms: Sequence[FormDocument | Mapping[str, Any]],
        context: RenderContext | Mapping[str, Any] | None = None,
    ) -> bytes:
        """Render the forms of one department as one PDF (what that department files)."""
        docs = [FormDocument.of(f) for f in forms]
        return self.render_forms_pdf(docs, context, title=_department_title(docs))

    def render_packet_pdf(
        self,
        forms: Sequence[FormDocument | Mapping[str, Any]],
        context: RenderContext | Mapping[str, Any] | None = None,
        *,
        procedures: Sequence[Mapping[str, Any]] | None = None,
        tagged: bool = False,
    ) -> bytes:
        """Render every form of a case with its cover sheet (受付案内票) as one PDF.

        Untagged packets are rendered per department (in worker processes when a pool is
        running, each department cached on its own) and joined; each department's pages
        are numbered on their own, since each department files its own. ``tagged=True``
        gives the PDF/UA variant, rendered as one HTML document so that the structure
        tree stays whole.
        """
        ctx = RenderContext.of(context)
        docs = [FormDocument.of(f) for f in forms]
        cover_procedures = procedures if procedures is not None else _procedures_of(docs)
        if tagged:
            return self.render_forms_pdf(
                docs, ctx, procedures=cover_procedures, title="申請書類一式", tagged=True
            )
        groups = group_by_department(docs)
        pool = self.pool if len(groups) > 1 else None
        if pool is None:
            cover = self.render_cover_pdf(cover_procedures, ctx, forms=docs)
            parts = [self.render_department_pdf(g, ctx) for g in groups]
        else:
            jobs = pool.submit_departments(self, groups, ctx)
            cover_key = self.cover_key(cover_procedures, ctx, docs)
            cover = self.cache.get(cover_key)
            if cover is None:
                cover = pool.submit_cover(cover_procedures, docs, ctx).result()
                self.cache.put(cover_key, cover)
            parts = pool.collect(self, groups, ctx, jobs)
        return join_pdfs([cover, *parts])

    # ---- start-up -----------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load fonts, stylesheets and templates once so the first real PDF is fast."""
        for template in self.catalog.forms.values():
            for name in template.stylesheets:
                self._stylesheet(name)
            self.catalog.env.get_template(f"{template.form_id}/template.html")
        for name in COVER_STYLESHEETS:
            self._stylesheet(name)
        sample = next(iter(self.catalog.forms.values()), None)
        if sample is not None:
            self.render_forms_pdf(
                [FormDocument(sample.form_id, sample.sample)],
                RenderContext(case_number="warm-up"),
                procedures=[],
            )
        self.cache.clear()


def group_by_department(docs: Sequence[FormDocument]) -> list[list[FormDocument]]:
    """Group forms by department, keeping the order in which departments first appear."""
    groups: dict[str, list[FormDocument]] = {}
    for doc in docs:
        dept = doc.department.get("id") or doc.department.get("name") or ""
        groups.setdefault(dept, []).append(doc)
    return list(groups.values())


def _department_title(docs: Sequence[FormDocument]) -> str:
    name = next((d.department.get("name") for d in docs if d.department.get("name")), "")
    return f"{name} 提出書類" if name else "提出書類"


def _procedures_of(docs: Sequence[FormDocument]) -> list[dict[str, Any]]:
    """Make cover-sheet entries from forms alone when no Result procedures are at hand."""
    return [
        {"id": d.key, "title": d.title or d.form_id, "department": dict(d.department)} for d in docs
    ]


def join_pdfs(pdfs: Sequence[bytes], title: str = "申請書類一式") -> bytes:
    """Concatenate PDFs page by page (pikepdf: qpdf does it in milliseconds)."""
    import pikepdf

    if len(pdfs) == 1:
        return pdfs[0]
    with pikepdf.Pdf.new() as out:
        sources = [pikepdf.Pdf.open(io.BytesIO(pdf)) for pdf in pdfs]
        try:
            for source in sources:
                out.pages.extend(source.pages)
            out.docinfo["/Title"] = title
            if "/Lang" in sources[0].Root:
                out.Root.Lang = sources[0].Root.Lang
            buffer = io.BytesIO()
            out.save(buffer)
        finally:
            for source in sources:
                source.close()
    return buffer.getvalue()
