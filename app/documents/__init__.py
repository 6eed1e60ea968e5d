"""Form rendering (帳票): one Jinja2 template per form, shown as HTML and printed as PDF.

The app calls :func:`init_documents` once at start-up: it loads the templates and warms the
fonts (so the first PDF is fast); with ``DOCUMENT_WORKERS`` > 0 the worker processes that
render packets start with the first packet. Everything else goes through the
:class:`Documents` kept on the app (``documents()``), or the module functions below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask, current_app, has_app_context
from markupsafe import Markup

from app.documents.catalog import TemplateError
from app.documents.pool import DocumentPool
from app.documents.render import (
    DEFAULT_ROOT,
    Documents,
    FormDocument,
    RenderContext,
    document_hash,
    qr_payload,
)
from app.documents.seal import Verdict, ensure_seal, seal_pdf, verify_pdf

__all__ = [
    "Documents",
    "FormDocument",
    "RenderContext",
    "TemplateError",
    "Verdict",
    "document_hash",
    "documents",
    "ensure_seal",
    "init_documents",
    "qr_payload",
    "render_form_html",
    "render_form_pdf",
    "prepare_packet",
    "render_packet_pdf",
    "seal_pdf",
    "sealed_packet",
    "verify_pdf",
]

EXTENSION = "documents"
_default: Documents | None = None


def init_documents(app: Flask) -> Documents:
    """Load the templates once, warm fonts, ready the render workers; keep it on the app."""
    docs = Documents(app.config.get("PDF_TEMPLATES_DIR") or DEFAULT_ROOT)
    app.extensions[EXTENSION] = docs
    if app.testing:
        return docs  # tests render on demand; warming every test app would only slow them
    docs.warm_up()
    docs.workers = int(app.config.get("DOCUMENT_WORKERS", 2) or 0)  # started with 1st packet
    DocumentPool.render_seconds = float(app.config.get("DOCUMENT_RENDER_SECONDS", 30))
    return docs


def documents() -> Documents:
    """Return the app's renderer, or one for the default templates outside an app."""
    global _default
    if has_app_context():
        if EXTENSION not in current_app.extensions:
            root = current_app.config.get("PDF_TEMPLATES_DIR") or DEFAULT_ROOT
            current_app.extensions[EXTENSION] = Documents(root)
        docs: Documents = current_app.extensions[EXTENSION]
        return docs
    if _default is None:
        _default = Documents(DEFAULT_ROOT)
    return _default


def render_form_html(
    form_id: str, values: Mapping[str, Any], context: RenderContext | Mapping[str, Any]
) -> Markup:
    """Render one form's values as the HTML fragment shown on screen."""
    return documents().render_form_html(form_id, values, context)


def render_form_pdf(
    form_id: str,
    values: Mapping[str, Any],
    context: RenderContext | Mapping[str, Any],
    *,
    tagged: bool = False,
) -> bytes:
    """Render one form's values as a PDF (``tagged=True``: the PDF/UA variant)."""
    return documents().render_form_pdf(form_id, values, context, tagged=tagged)


def render_packet_pdf(
    forms: Sequence[FormDocument | Mapping[str, Any]],
    context: RenderContext | Mapping[str, Any],
    *,
    procedures: Sequence[Mapping[str, Any]] | None = None,
    tagged: bool = False,
) -> bytes:
    """Render a case's forms (the Result's ``forms``) with a cover sheet as one PDF."""
    return documents().render_packet_pdf(forms, context, procedures=procedures, tagged=tagged)


def prepare_packet(
    forms: Sequence[FormDocument | Mapping[str, Any]],
    context: RenderContext | Mapping[str, Any],
    *,
    procedures: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Render a case's packet unsigned into the cache while the resident reviews it."""
    documents().prepare_packet(forms, context, procedures=procedures)


def sealed_packet(
    forms: Sequence[FormDocument | Mapping[str, Any]],
    context: RenderContext | Mapping[str, Any],
    *,
    procedures: Sequence[Mapping[str, Any]] | None = None,
    docs: Documents | None = None,
) -> bytes:
    """Render the signed packet (signature in ``context``) and seal it with the city's seal.

    ``docs``: the renderer of the templates to print with (the case's version's); default the
    app's.
    """
    ctx = RenderContext.of(context)
    if not ctx.signature_png:
        raise ValueError("a packet is sealed once the resident has signed it")
    pdf = (docs or documents()).render_packet_pdf(forms, ctx, procedures=procedures)
    return seal_pdf(pdf, current_app.instance_path, municipality=ctx.municipality or "デモ市")
