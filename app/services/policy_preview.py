"""Preview a form of any version as a PDF, printed with that version's templates: with the
template's sample values, or with a real case's facts evaluated under the version (the
read audited, as when comparing)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask

from app.documents import FormDocument, RenderContext, TemplateError
from app.engine import evaluate
from app.errors import DomainError
from app.models.ruleset import RuleSetVersion
from app.services.impact import case_by_number, case_facts_for_policy
from app.services.interview import case_as_of
from app.services.ruleset_workspace import draft_ruleset
from app.services.version_documents import documents_for_version


@dataclass(frozen=True)
class PreviewPdf:
    """A previewed form: the PDF and the file name to show it under."""

    pdf: bytes
    file_name: str


def _template_refused(version: RuleSetVersion) -> DomainError:
    """Return the refusal for a version whose templates do not load."""
    return DomainError(
        f"版 {version.name} の帳票のひな形を読み込めないので、見本を作れません。",
        hint="版のページの検査結果で pdf_templates/ の問題を直してください。",
        code="template_broken",
    )


def form_preview(
    app: Flask,
    version: RuleSetVersion,
    form_id: str,
    *,
    case_number: str,
    actor: str,
    now: datetime,
    config: Mapping[str, Any],
) -> PreviewPdf:
    """Render one form of a version as a PDF: its sample, or a chosen case (audited).

    :raises DomainError: no such form template or case, the case has no such form, or the
        version's templates or rules do not load.
    """
    try:
        docs = documents_for_version(version)
        template = docs.catalog.form(form_id)
    except TemplateError as exc:
        if "no template for form" in str(exc):
            raise DomainError(
                f"帳票「{form_id}」のひな形はこの版にありません。",
                code="unknown_form",
                status=404,
            ) from None
        raise _template_refused(version) from None
    if not case_number.strip():
        ctx = RenderContext(
            case_number="見本",
            ruleset_version=version.name,
            municipality="見本市",
            prefecture="見本県",
        )
        pdf = docs.render_form_pdf(form_id, template.sample, ctx)
        return PreviewPdf(pdf, f"見本_{template.file_name}")
    found = case_by_number(case_number)
    if found is None or found.purged_at is not None:
        raise DomainError(
            f"受付番号「{case_number}」の案件はありません。",
            hint="受付番号を確かめてください。",
            code="unknown_case",
            status=404,
        )
    ruleset = draft_ruleset(version, config)
    case, facts = case_facts_for_policy(found.id, actor=actor, now=now)
    result = evaluate(ruleset, facts, case_as_of(case))
    forms = [f for f in result.forms if f.template == form_id]
    if not forms:
        raise DomainError(
            f"案件 {case.number} には、この版で帳票「{template.title}」が作られません。",
            hint="影響や並べて比べる画面で、この案件にどの帳票が作られるかを確かめてください。",
            code="form_not_in_case",
        )
    ctx = RenderContext(
        case_number=case.number,
        ruleset_version=version.name,
        municipality=ruleset.municipality.name,
        prefecture=ruleset.municipality.prefecture,
    )
    docs_of = [FormDocument.of(f.to_json()) for f in forms]
    if len(docs_of) == 1:
        pdf = docs.render_form_pdf(docs_of[0].form_id, docs_of[0].values, ctx)
    else:  # one per member (例: 介護保険 per person): every one, after a cover sheet
        pdf = docs.render_packet_pdf(docs_of, ctx)
    return PreviewPdf(pdf, f"{case.number}_{template.file_name}")
