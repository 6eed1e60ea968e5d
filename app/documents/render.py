"""One renderer: a form's template gives the on-screen HTML and, through WeasyPrint, the PDF.

The renderer takes *values*, not facts: ``{"fields": …, "rows": …}`` exactly as the engine's
Result gives them for a form (already formatted for print), plus a context (case number,
rule-set version, municipality, the resident's signature).
"""

from __future__ import annotations

import atexit
import base64
import functools
import hashlib
import io
import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import segno
from jinja2 import UndefinedError
from markupsafe import Markup

from app.documents.cache import LRU
from app.documents.catalog import (
    SHARED,
    Catalog,
    FormTemplate,
    TemplateError,
    catalog_for,
    record_of,
)
from app.documents.layout import Layout, Part
from app.documents.pool import DocumentPool
from app.documents.stamp import Rendered
from app.process import freeze_long_lived

log = logging.getLogger("app.documents")

DEFAULT_ROOT = Path(__file__).resolve().parent.parent.parent / "pdf_templates"
COVER_TEMPLATE = f"{SHARED}/cover.html"
COVER_STYLESHEETS = (f"{SHARED}/base.css", f"{SHARED}/cover.css")
PACKET_TITLE = "申請書類一式"
QR_MASK = 2  # the mask segno's own scoring picks for three in four of our hash payloads


@dataclass(frozen=True)
class RenderContext:
    """What a document shows besides its values: whose case, which rules, which city, signed."""

    case_number: str = ""
    ruleset_version: str = ""
    municipality: str = ""
    # 都道府県: the addressee of forms a prefecture decides (障害者手帳・特別児童扶養手当 to the
    # 知事, 後期高齢者医療 to the prefecture's 広域連合長).
    prefecture: str = ""
    signature_png: bytes | None = field(default=None, repr=False)

    @classmethod
    def of(cls, value: RenderContext | Mapping[str, Any] | None) -> RenderContext:
        """Accept a RenderContext or a mapping with the same keys."""
        if isinstance(value, RenderContext):
            return value
        value = dict(value or {})
        unknown = set(value) - {
            "case_number",
            "ruleset_version",
            "municipality",
            "prefecture",
            "signature_png",
        }
        if unknown:
            raise TypeError(f"unknown render context keys: {sorted(unknown)}")
        return cls(**value)

    @property
    def signature_sha256(self) -> str | None:
        """Return the hash of the signature image (part of a tagged document's cache key)."""
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


def balanced_runs(parts: Sequence[Part], count: int) -> list[list[Part]]:
    """Cut ``parts``, in document order, into at most ``count`` runs of about equal cost.

    The cost of a part is the length of its HTML: layout time follows the number of boxes
    and characters (a form with a long per-person table costs more than a short one; the
    cover sheet, all text, a little more than its length says). Each cut goes where the
    running cost comes nearest to an equal share.
    """
    count = max(1, min(count, len(parts)))
    costs = [len(part.html) for part in parts]
    total = sum(costs)
    running, cuts = 0, [0]
    for index, cost in enumerate(costs):
        share = total * len(cuts) / count
        if len(cuts) < count and index > cuts[-1] and running + cost / 2 > share:
            cuts.append(index)  # this part would end nearer its share in the next run
        running += cost
    cuts.append(len(parts))
    return [list(parts[a:b]) for a, b in zip(cuts, cuts[1:], strict=False) if a < b]


def _canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def document_hash(
    form_id: str, version: str, values: Mapping[str, Any], context: RenderContext
) -> str:
    """Return the SHA-256 that identifies a printed document: form, template, values, case.

    The signature is not part of it: the hash (and its QR) is printed before the resident
    signs; the seal over the signed packet is what protects the signature.
    """
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
                "prefecture": context.prefecture,
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
    # A fixed mask pattern: segno otherwise encodes the symbol with all eight masks and
    # keeps the best-scoring one (5x the time); any mask is valid and reads the same.
    qr = segno.make_qr(qr_payload(digest), encoding="utf-8", eci=True, error="m", mask=QR_MASK)
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


class Documents:
    """The renderer for one templates root: HTML fragments, form PDFs, packets, cache."""

    def __init__(self, root: Path | str = DEFAULT_ROOT, *, cache_size: int = 64) -> None:
        self.catalog: Catalog = catalog_for(root)
        self.root = self.catalog.root
        self.layout = Layout(self.catalog)
        self.cache = LRU(cache_size)
        self.pool: DocumentPool | None = None  # a DocumentPool when parallel packet rendering is on
        self.workers = 0  # > 0: start that many workers with the first packet (see _packet_pool)
        self._pool_lock = threading.Lock()

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
            urgent=[p for p in procedures if p.get("urgent")],
            forms=forms,
            ctx=ctx,
            doc_hash=digest,
            hash_qr=hash_qr_uri(digest),
        )
        return Markup(compact(html))  # noqa: S704  (output of an autoescaping template)

    def _pdf(
        self, title: str, parts: Sequence[str], stylesheets: Sequence[str], tagged: bool
    ) -> bytes:
        """Render HTML fragments sharing stylesheets as a finished PDF (for tests)."""
        shared = [Part(html, tuple(stylesheets)) for html in parts]
        if tagged:
            return self.layout.render_tagged(title, shared)
        return self.layout.finish([self.layout.rendered_parts(title, shared)], None, title)

    def form_part(self, doc: FormDocument, ctx: RenderContext) -> Part:
        """Return a form as a part of a document: its HTML and its stylesheets."""
        html = self.render_form_html(doc.form_id, doc.values, ctx)
        return Part(str(html), self.catalog.form(doc.form_id).stylesheets)

    def cover_part(
        self,
        procedures: Sequence[Mapping[str, Any]],
        ctx: RenderContext,
        forms: Sequence[FormDocument],
    ) -> Part:
        """Return the cover sheet (受付案内票) as a part of a document."""
        return Part(str(self.render_cover_html(procedures, ctx, forms=forms)), COVER_STYLESHEETS)

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
        cover_forms: Sequence[FormDocument] | None = None,
    ) -> str:
        """Return the cache key of a document of forms: their values and template versions."""
        keys = [self._form_key(self.catalog.form(d.form_id), d.values, ctx, tagged) for d in docs]
        listed = docs if cover_forms is None else cover_forms
        return hashlib.sha256(
            _canonical(
                {
                    "forms": keys,
                    "procedures": list(procedures) if procedures is not None else None,
                    "cover_forms": [[f.key, f.title, dict(f.department)] for f in listed],
                    "context": [ctx.case_number, ctx.ruleset_version, ctx.municipality],
                    # Only tagged documents draw the signature through the template.
                    "signature": ctx.signature_sha256 if tagged else None,
                    "title": title,
                    "tagged": tagged,
                }
            )
        ).hexdigest()

    def _parts(
        self,
        docs: Sequence[FormDocument],
        ctx: RenderContext,
        procedures: Sequence[Mapping[str, Any]] | None,
        cover_forms: Sequence[FormDocument] | None,
    ) -> list[Part]:
        """Return the parts of a document: the cover sheet when ``procedures``, then forms."""
        parts = [self.form_part(doc, ctx) for doc in docs]
        if procedures is not None:
            listed = docs if cover_forms is None else cover_forms
            parts.insert(0, self.cover_part(procedures, ctx, listed))
        return parts

    def rendered_forms(
        self,
        docs: Sequence[FormDocument],
        ctx: RenderContext,
        *,
        procedures: Sequence[Mapping[str, Any]] | None = None,
        title: str,
        cover_forms: Sequence[FormDocument] | None = None,
    ) -> Rendered:
        """Render forms (after a cover sheet when ``procedures`` is given) as one unsigned,
        unnumbered PDF in this process, from the cache when nothing changed."""
        key = self.forms_key(
            docs, ctx, procedures=procedures, title=title, tagged=False, cover_forms=cover_forms
        )
        cached: Rendered | None = self.cache.get(key)
        if cached is None:
            cached = self.layout.rendered_parts(
                title, self._parts(docs, ctx, procedures, cover_forms)
            )
            self.cache.put(key, cached)
        return cached

    def render_forms_pdf(
        self,
        forms: Sequence[FormDocument | Mapping[str, Any]],
        context: RenderContext | Mapping[str, Any] | None = None,
        *,
        procedures: Sequence[Mapping[str, Any]] | None = None,
        title: str = PACKET_TITLE,
        tagged: bool = False,
    ) -> bytes:
        """Render forms (and a cover sheet when ``procedures`` is given) as one PDF.

        Untagged PDFs are rendered unsigned (so the cache serves them again once the resident
        signs) and the signature is stamped into the recorded signature boxes. The tagged
        PDF/UA variant draws the signature through the template, inside the structure tree.
        """
        ctx = RenderContext.of(context)
        docs = [FormDocument.of(f) for f in forms]
        if tagged:
            key = self.forms_key(docs, ctx, procedures=procedures, title=title, tagged=True)
            pdf: bytes | None = self.cache.get(key)
            if pdf is None:
                pdf = self.layout.render_tagged(title, self._parts(docs, ctx, procedures, None))
                self.cache.put(key, pdf)
            return pdf
        rendered = self.rendered_forms(docs, unsigned(ctx), procedures=procedures, title=title)
        return self.layout.finish([rendered], ctx.signature_png, title)

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
        template = self.catalog.form(form_id)
        return self.render_forms_pdf(
            [FormDocument(form_id, values)], context, title=template.title, tagged=tagged
        )

    def render_cover_pdf(
        self,
        procedures: Sequence[Mapping[str, Any]],
        context: RenderContext | Mapping[str, Any] | None = None,
        *,
        forms: Sequence[FormDocument] = (),
    ) -> bytes:
        """Render the cover sheet (受付案内票) alone as a PDF."""
        title = "受付案内票"
        cover = self.rendered_forms(
            [],
            unsigned(RenderContext.of(context)),
            procedures=procedures,
            title=title,
            cover_forms=forms,
        )
        return self.layout.finish([cover], None, title)

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
        """Render every form of a case, after its cover sheet (受付案内票), as one PDF.

        Forms are grouped by department. The packet is rendered unsigned and cached
        (``rendered_packet``: in halves side by side in the worker processes when the pool
        runs), then joined with its pages numbered through and the signature stamped into
        every signature box. ``tagged=True`` gives the PDF/UA variant (one HTML document,
        signature in the structure tree).
        """
        ctx = RenderContext.of(context)
        docs = [
            d for group in group_by_department([FormDocument.of(f) for f in forms]) for d in group
        ]
        cover_procedures = procedures if procedures is not None else _procedures_of(docs)
        if tagged:
            return self.render_forms_pdf(
                docs, ctx, procedures=cover_procedures, title=PACKET_TITLE, tagged=True
            )
        pieces = self.rendered_packet(docs, unsigned(ctx), cover_procedures)
        return self.layout.finish(pieces, ctx.signature_png, PACKET_TITLE)

    def packet_key(
        self,
        docs: Sequence[FormDocument],
        ctx: RenderContext,
        procedures: Sequence[Mapping[str, Any]],
    ) -> str:
        """Return the cache key of a case's (unsigned) packet: its rendered pieces."""
        # Prefixed: the same forms rendered as one document (rendered_forms) are cached as
        # one Rendered under the bare key, a packet as a tuple of pieces.
        key = self.forms_key(docs, ctx, procedures=procedures, title=PACKET_TITLE, tagged=False)
        return f"pieces:{key}"

    def rendered_packet(
        self,
        docs: Sequence[FormDocument],
        ctx: RenderContext,
        procedures: Sequence[Mapping[str, Any]],
    ) -> tuple[Rendered, ...]:
        """Render (or fetch from the cache) the unsigned packet: cover sheet, then forms.

        With the worker pool the parts are cut, in order, into one run per worker of about
        equal cost and the runs are rendered side by side (one process uses one core; the
        web process stays responsive). Without it, or if a worker died, this process renders
        them as one piece.
        """
        key = self.packet_key(docs, ctx, procedures)
        cached: tuple[Rendered, ...] | None = self.cache.get(key)
        if cached is not None:
            return cached
        parts = self._parts(docs, ctx, procedures, None)
        pool = self._packet_pool()
        pieces: tuple[Rendered, ...] | None = None
        if pool is not None:
            try:
                pieces = pool.render(PACKET_TITLE, balanced_runs(parts, pool.workers))
            except BrokenProcessPool:
                # A worker died (out of memory, killed): render here, and start new workers.
                log.exception("documents: render workers died; rendering in this process")
                self.pool = pool.restarted()
        if pieces is None:
            pieces = (self.layout.rendered_parts(PACKET_TITLE, parts),)
        self.cache.put(key, pieces)
        return pieces

    def _packet_pool(self) -> DocumentPool | None:
        """Return the worker pool, starting it with the first packet when ``workers`` > 0.

        Started on first use, not at app start, so that CLI commands never spawn workers;
        the first packet is usually ``prepare_packet`` while the resident reviews, which
        hides the start-up.
        """
        if self.pool is None and self.workers > 0:
            with self._pool_lock:
                if self.pool is None:
                    self.pool = DocumentPool(str(self.root), self.workers, self.warm_up_parts())
                    atexit.register(self.pool.close)
        return self.pool

    def warm_up_parts(self) -> list[Part]:
        """Return the parts a renderer lays out once at start: the first form's sample."""
        sample = next(iter(self.catalog.forms.values()), None)
        if sample is None:
            return []
        ctx = RenderContext(case_number="warm-up")
        return [self.form_part(FormDocument(sample.form_id, sample.sample), ctx)]

    def prepare_packet(
        self,
        forms: Sequence[FormDocument | Mapping[str, Any]],
        context: RenderContext | Mapping[str, Any] | None = None,
        *,
        procedures: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Render a case's packet unsigned into the cache while the resident reviews it.

        Signing then only joins the cached pieces and stamps the signature.
        """
        self.render_packet_pdf(forms, unsigned(RenderContext.of(context)), procedures=procedures)

    # ---- start-up -----------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load fonts, stylesheets and templates once so the first real PDF is fast.

        Then freeze what is loaded (``app.process.freeze_long_lived``): fonts, stylesheets and templates live
        as long as the process, and the garbage collector no longer walks them every time a
        render's many short-lived boxes trigger a collection (about a seventh of a packet's
        time otherwise).
        """
        for template in self.catalog.forms.values():
            self.catalog.env.get_template(f"{template.form_id}/template.html")
        for name in COVER_STYLESHEETS:
            self.layout.stylesheet(name)
        self.layout.warm_up(self.warm_up_parts())
        self.cache.clear()
        freeze_long_lived()


def unsigned(ctx: RenderContext) -> RenderContext:
    """Return the context without the signature (what the cached PDFs are rendered with)."""
    return replace(ctx, signature_png=None) if ctx.signature_png else ctx


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
