"""A case's documents: the render inputs from its evaluation, and its packet and cover sheet,
printed with the templates of the rule-set version the case was evaluated with."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from app.documents import FormDocument, RenderContext
from app.engine import Result, RuleSet
from app.models import Case
from app.services.version_documents import documents_for


def render_context(
    ruleset: RuleSet, case: Case, result: Result, signature_png: bytes | None = None
) -> RenderContext:
    """Return what every document of the case shows besides its values."""
    return RenderContext(
        case_number=case.number,
        ruleset_version=result.ruleset_version,
        municipality=ruleset.municipality.name,
        prefecture=ruleset.municipality.prefecture,
        signature_png=signature_png,
    )


def form_documents(result: Result) -> list[FormDocument]:
    """Return the case's forms as the renderer takes them, in the Result's order."""
    return [FormDocument.of(form.to_json()) for form in result.forms]


def procedure_entries(result: Result) -> list[dict[str, Any]]:
    """Return the applicable procedures as the cover sheet lists them."""
    return [procedure.to_json() for procedure in result.procedures]


def form_html(ruleset: RuleSet, case: Case, result: Result, key: str) -> Markup | None:
    """Render one form of the case (by its key) as the on-screen HTML, or None if absent."""
    form = result.form(key)
    if form is None:
        return None
    doc = FormDocument.of(form.to_json())
    return documents_for(ruleset).render_form_html(
        doc.form_id, doc.values, render_context(ruleset, case, result)
    )


def packet_pdf(ruleset: RuleSet, case: Case, result: Result) -> bytes:
    """Render every form of the case, with its cover sheet, as one unsigned PDF."""
    return documents_for(ruleset).render_packet_pdf(
        form_documents(result),
        render_context(ruleset, case, result),
        procedures=procedure_entries(result),
    )


def cover_pdf(ruleset: RuleSet, case: Case, result: Result) -> bytes:
    """Render the cover sheet (受付案内票): each procedure by department with what comes next."""
    return documents_for(ruleset).render_cover_pdf(
        procedure_entries(result),
        render_context(ruleset, case, result),
        forms=form_documents(result),
    )
