"""Check a version's form templates (pdf_templates/) before it can be approved.

Since a case's documents are printed with its version's templates, a template that does
not load or render would break every document from the version's effective date. The
check builds the version's template catalogue in a temporary folder and renders every
form with its sample values in the sandbox the app prints with; each failure becomes a
problem in Japanese at the template's file (and line, where Jinja knows it), with the
path relative to the rule set.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import TemplateError as JinjaError
from jinja2 import TemplateSyntaxError
from jinja2.exceptions import SecurityError

from app.documents import Documents, RenderContext, TemplateError

ROOT = "pdf_templates/"
SAMPLE_CONTEXT = RenderContext(
    case_number="見本", ruleset_version="check", municipality="見本市", prefecture="見本県"
)
_IDENT = "帳票のひな形"


def _problem(
    file: str, line: int, message: str, hint: str = "", ident: str = _IDENT
) -> dict[str, Any]:
    """Return one problem as the check reports it (FileProblem's fields)."""
    return {
        "file": file,
        "line": max(line, 1),
        "column": 1,
        "ident": ident,
        "message": message,
        "hint": hint,
    }


def _relative(text: str, root: Path) -> str:
    """Return a message with the temporary folder left out (paths relative to the rule set)."""
    return text.replace(str(root.resolve()) + "/", ROOT).replace(str(root) + "/", ROOT)


def _catalog_problem(exc: TemplateError, root: Path) -> dict[str, Any]:
    """Say in Japanese what a template folder lacks (the catalogue's message names the file)."""
    text = _relative(str(exc), root)
    where = re.match(r"(pdf_templates/[^:\s]+)(?::(\d+))?", text)
    file = where.group(1) if where else "pdf_templates"
    line = int(where.group(2)) if where and where.group(2) else 1
    if "missing (every form folder needs it)" in text:
        return _problem(
            file,
            1,
            f"{file} がありません",
            "帳票のフォルダには template.html、style.css、meta.yaml、sample.yaml が必要です",
        )
    if "keys must be exactly" in text:
        return _problem(
            file,
            line,
            "meta.yaml のキーが違います",
            "title、version、file_name の3つだけを書きます",
        )
    if "invalid YAML" in text:
        return _problem(file, line, "YAML として読めません", "ファイルの編集画面で直します")
    if "sample must be" in text or "must be mappings" in text:
        return _problem(file, line, "sample.yaml は fields: と rows: の2つのマッピングです", "")
    return _problem(file, line, "ひな形を読み込めません", text)


# Jinja's syntax messages, said in Japanese (the rest keep Jinja's words after the Japanese).
_SYNTAX = (
    (
        re.compile(r"Expected an expression, got"),
        "{% %} の中に式がありません（例: {% if fields.x %}）",
    ),
    (
        re.compile(
            r"Unexpected end of template.*innermost block that needs to be closed is '(\w+)'"
        ),
        "{{% {0} %}} を閉じる {{% end{0} %}} がありません",
    ),
    (
        re.compile(r"unexpected end of template"),
        "{{ または {% が閉じていません（}} または %} を書きます）",
    ),
    (
        re.compile(r"Encountered unknown tag '(\w+)'"),
        "使えないタグ {{% {0} %}} です（つづりか、対応する開始タグを確かめます）",
    ),
    (
        re.compile(r"expected token .*, got '([^']+)'"),
        "「{0}」のところが読めません（演算子・| ・引用符・閉じかっこを確かめます）",
    ),
)


_TOKENS = {
    "end of print statement": "}}",
    "end of statement block": "%}",
    "end of template": "ファイルの終わり",
}


def _syntax_hint(message: str) -> str:
    """Return a Jinja syntax message as a Japanese hint (Jinja's own words when unknown)."""
    for pattern, text in _SYNTAX:
        found = pattern.search(message)
        if found:
            groups = [_TOKENS.get(g, g) for g in found.groups()]
            return text.format(*groups) if groups else text
    return f"{{{{ }}}} と {{% %}} の対応・つづりを確かめます（Jinja の説明: {message}）"


def _render_problem(exc: Exception, form_id: str, root: Path) -> dict[str, Any]:
    """Say in Japanese why a form's template did not render with its sample values."""
    default = f"{ROOT}{form_id}/template.html"
    if isinstance(exc, TemplateSyntaxError):
        name = exc.filename or exc.name or default
        file = _relative(name, root)
        if not file.startswith(ROOT):
            file = f"{ROOT}{file}"
        return _problem(
            file,
            exc.lineno,
            "テンプレートの書き方に誤りがあります",
            _syntax_hint(exc.message or ""),
            ident=f"帳票 '{form_id}'",
        )
    text = _relative(str(exc), root)
    if isinstance(exc, TemplateError) and "the template prints a" in text:
        missing = re.search(r"has no attribute '([^']+)'", text) or re.search(
            r"'([^']+)' is undefined", text
        )
        what = missing.group(1) if missing else "値"
        return _problem(
            default,
            1,
            f"見本の値（sample.yaml）にない項目 {what} を印字しています",
            "form_definitions の項目と sample.yaml に同じ名前を足すか、テンプレートの名前を直します",
            ident=f"帳票 '{form_id}'",
        )
    if isinstance(exc, SecurityError):
        return _problem(
            default,
            1,
            "安全のため、ひな形では使えない書き方です",
            "ファイルや内部の属性（__ で始まる名前など）には触れられません。fields.… と rows.… だけを使います",
            ident=f"帳票 '{form_id}'",
        )
    return _problem(
        default,
        1,
        f"見本の値で表示できません: {text}",
        "テンプレートを直前の内容に戻して確かめます",
        ident=f"帳票 '{form_id}'",
    )


def template_problems(
    files: Mapping[str, bytes], form_templates: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Return the problems of a version's templates (dicts with FileProblem's fields).

    ``form_templates``: each form of the rule set → the template folder it prints with.
    """
    templates = {n[len(ROOT) :]: d for n, d in files.items() if n.startswith(ROOT)}
    if not templates:
        return [
            _problem(ROOT, 1, "pdf_templates/ がありません", "版に帳票のひな形のフォルダを入れます")
        ]
    problems: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kakanai-templates-") as tmp:
        root = Path(tmp)
        for name, data in templates.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        try:
            docs = Documents(root)
        except TemplateError as exc:
            return [_catalog_problem(exc, root)]
        finally:
            forget_catalog(root)
        for form_id, template in sorted(form_templates.items()):
            if template not in docs.catalog.forms:
                problems.append(
                    _problem(
                        f"form_definitions/{form_id}.yaml",
                        1,
                        f"帳票 '{form_id}' のひな形 pdf_templates/{template}/ がありません",
                        "ひな形のフォルダを足すか、template: を直します",
                        ident=f"帳票 '{form_id}'",
                    )
                )
        for form_id, found in sorted(docs.catalog.forms.items()):
            try:
                docs.render_form_html(form_id, found.sample, SAMPLE_CONTEXT)
            except (TemplateError, JinjaError) as exc:
                problems.append(_render_problem(exc, form_id, root))
            except Exception as exc:  # noqa: BLE001 - the sandbox's refusals and template bugs alike
                problems.append(_render_problem(exc, form_id, root))
    return problems


def preview_typed(
    files: Mapping[str, bytes], name: str, text: str
) -> tuple[bytes | None, dict[str, Any] | None]:
    """Render the form of a template file as a PDF with what was typed, before it is saved.

    Returns the PDF, or the problem (as the check reports it) when the typed text does not
    load or render. Nothing is stored: the version's templates and the typed file are
    written to a temporary folder for this one render.
    """
    parts = name.split("/")
    if len(parts) < 3 or parts[0] != "pdf_templates" or parts[1].startswith("_"):
        return None, _problem(name, 1, "帳票のフォルダの中のファイルではないので、見本を作れません")
    form_id = parts[1]
    typed = {**files, name: text.encode("utf-8")}
    templates = {n[len(ROOT) :]: d for n, d in typed.items() if n.startswith(ROOT)}
    with tempfile.TemporaryDirectory(prefix="kakanai-preview-") as tmp:
        root = Path(tmp)
        for file, data in templates.items():
            path = root / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        try:
            docs = Documents(root)
        except TemplateError as exc:
            return None, _catalog_problem(exc, root)
        finally:
            forget_catalog(root)
        found = docs.catalog.forms.get(form_id)
        if found is None:
            return None, _problem(name, 1, f"帳票 '{form_id}' のひな形がありません")
        try:
            return docs.render_form_pdf(form_id, found.sample, SAMPLE_CONTEXT), None
        except Exception as exc:  # noqa: BLE001 - any failure of the typed template is shown
            return None, _render_problem(exc, form_id, root)


def forget_catalog(root: Path) -> None:
    """Drop a temporary folder's catalogue from the per-process cache (it is gone after)."""
    from app.documents import catalog

    catalog._CATALOGS.pop(root.resolve(), None)
