"""Staff reading and printing a case's documents: each view is rendered and audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from app.engine import RuleSet
from app.models import Case
from app.services import version_documents
from app.services.case_documents import cover_pdf, form_html, packet_pdf
from app.services.cases import CaseError, record_case_event
from app.services.interview import evaluate_stored


@dataclass(frozen=True)
class FormPreview:
    """One filled form as staff preview it: the form, its HTML and its catalogue template."""

    form: Any  # the engine's FilledForm
    html: Markup
    template: Any


def preview_form(
    ruleset: RuleSet, case: Case, key: str, *, actor: str, now: datetime
) -> FormPreview:
    """Render one form of a case for staff, the view audited and committed.

    :raises CaseError: the case has no such form (404).
    """
    result = evaluate_stored(ruleset, case)
    filled = result.form(key)
    html = form_html(ruleset, case, result, key)
    if filled is None or html is None:
        raise CaseError("no_form", "この書類は、この案件にはありません。", status=404)
    record_case_event(case, actor=actor, action="document_viewed", detail={"form": key}, now=now)
    return FormPreview(
        filled, html, version_documents.documents_for(ruleset).catalog.form(filled.template)
    )


def view_packet(
    ruleset: RuleSet, case: Case, *, printing: bool, actor: str, now: datetime
) -> bytes:
    """Render the case's packet for staff to view or print, audited and committed."""
    result = evaluate_stored(ruleset, case)
    pdf = packet_pdf(ruleset, case, result)
    record_case_event(
        case,
        actor=actor,
        action="document_printed" if printing else "packet_viewed",
        detail={"forms": [f.key for f in result.forms]},
        now=now,
    )
    return pdf


def view_cover(ruleset: RuleSet, case: Case, *, actor: str, now: datetime) -> bytes:
    """Render the case's cover sheet for staff, audited and committed."""
    result = evaluate_stored(ruleset, case)
    record_case_event(case, actor=actor, action="cover_viewed", detail={}, now=now)
    return cover_pdf(ruleset, case, result)
