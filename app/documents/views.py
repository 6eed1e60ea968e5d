"""Web views of the documents: the templates' stylesheets and a sample preview of a form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, render_template, send_from_directory

from app.auth.access import RESIDENT, allow
from app.documents import RenderContext, documents
from app.documents.catalog import TemplateError
from app.models.user import STAFF_ROLES

bp = Blueprint("documents", __name__, url_prefix="/documents", template_folder="templates")


@bp.route("/assets/<path:name>")
@allow(*STAFF_ROLES, RESIDENT)
def asset(name: str) -> Any:
    """Serve a stylesheet of pdf_templates/ (the same CSS the PDF uses) and nothing else."""
    if not name.endswith(".css"):
        abort(404)
    root = Path(documents().root).resolve()
    # send_from_directory refuses "..", but follows a symlink that points out of the
    # folder; the PDF fetcher refuses those, and so does this (same rule, same files).
    target = (root / name).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        abort(404)
    response = send_from_directory(root, str(target.relative_to(root)), max_age=300)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/preview/<form_id>")
@allow(*STAFF_ROLES)
def preview(form_id: str) -> Any:
    """Show a form filled with its sample.yaml values, as a resident would see it on screen."""
    docs = documents()
    try:
        template = docs.catalog.form(form_id)
    except TemplateError:
        abort(404)
    context = RenderContext(case_number="見本", ruleset_version="sample", municipality="見本市", prefecture="見本県")
    return render_template(
        "documents/preview.html",
        template=template,
        form_html=docs.render_form_html(form_id, template.sample, context),
    )
