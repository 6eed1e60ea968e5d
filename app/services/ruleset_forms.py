"""Adding a form (様式) to a draft from the browser: a copy of an existing form, renamed, and
listed in the procedure that produces it — one save, so the draft never holds half a form.

A form is three things in a version: its definition ``form_definitions/<id>.yaml`` (fields
and where their values come from), its template folder ``pdf_templates/<id>/`` (the paper's
layout, style, sample values) and a procedure whose ``forms:`` names it (a form no procedure
produces is a load error). Starting from a form the city already prints gives a definition
and a template that load and render; policy staff then change the fields and the layout in
the editor, with the live preview.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

import yaml

from app.extensions import db
from app.models.ruleset import RuleSetFile, RuleSetVersion
from app.services.ruleset_procedures import _find, _pairs, _span, _text
from app.services.ruleset_store import (
    VersionError,
    check_file_content,
    check_file_name,
    content_hash,
    files_of,
    record,
    require_draft,
)

FORM_ID = re.compile(r"^[a-z][a-z0-9_]{2,40}$")
DEFINITIONS = "form_definitions/"
TEMPLATES = "pdf_templates/"
# The form-level keys of a definition the copy rewrites (two spaces in, under ``form:``).
_FORM_KEY = re.compile(r"^  (id|title|department|template):.*$", re.M)


@dataclass(frozen=True)
class NewForm:
    """What the 「様式を追加する」 form asks: the new form, the one it starts from, who produces it."""

    form_id: str
    title: str
    base: str
    procedure: str


def form_ids(version: RuleSetVersion) -> list[str]:
    """Return the ids of a version's forms (its definition files), sorted."""
    return sorted(
        f.name[len(DEFINITIONS) : -len(".yaml")]
        for f in version.files
        if f.name.startswith(DEFINITIONS) and f.name.endswith(".yaml") and f.name.count("/") == 1
    )


def parse_new_form(form: dict[str, str] | object) -> NewForm:
    """Read the 「様式を追加する」 fields, refusing an empty or badly written one in Japanese."""
    get = getattr(form, "get")  # noqa: B009 - a Mapping or a Werkzeug MultiDict
    new = NewForm(
        form_id=str(get("form_id", "")).strip(),
        title=" ".join(str(get("title", "")).split()),
        base=str(get("base", "")).strip(),
        procedure=str(get("procedure", "")).strip(),
    )
    if not FORM_ID.match(new.form_id):
        raise VersionError(
            f"様式の id「{new.form_id}」は使えません。",
            hint="英小文字で始め、英小文字・数字・_ で 3〜41 文字にします（例: kokuho_kogaku）。",
            code="form_id_invalid",
        )
    if not new.title:
        raise VersionError(
            "様式の名前が空です。", hint="紙の様式の題名を書きます。", code="form_title_missing"
        )
    if not new.base or not new.procedure:
        raise VersionError(
            "もとにする様式と、この様式を作る手続を選んでください。", code="form_base_missing"
        )
    return new


def add_form(
    version: RuleSetVersion, new: NewForm, *, actor: str, now: datetime, limit: int
) -> list[str]:
    """Add a form to a draft as a renamed copy of ``new.base``, produced by ``new.procedure``.

    Returns the names of the files written. Committed once, with one audit row.

    :raises VersionError: not a draft; the id is taken; the base form or the procedure is
        unknown, or the procedure's ``forms:`` cannot be rewritten.
    """
    require_draft(version)
    files = files_of(version)
    if f"{DEFINITIONS}{new.form_id}.yaml" in files or any(
        n.startswith(f"{TEMPLATES}{new.form_id}/") for n in files
    ):
        raise VersionError(
            f"様式「{new.form_id}」はもうあります。",
            hint="別の id にするか、ファイルの一覧からその様式を開いて直してください。",
            code="form_exists",
            status=409,
        )
    base_definition = files.get(f"{DEFINITIONS}{new.base}.yaml")
    if base_definition is None:
        raise VersionError(
            f"もとにする様式「{new.base}」はこの版にありません。", code="unknown_form"
        )
    item, node = _find(version, new.procedure)
    department = _text(_pairs(node).get("department", (None, None))[1])
    written = {
        f"{DEFINITIONS}{new.form_id}.yaml": _definition(
            base_definition.decode("utf-8"), new, department
        ).encode("utf-8")
    }
    base_templates = _template_of(base_definition.decode("utf-8"), new.base)
    for name, data in files.items():
        if name.startswith(f"{TEMPLATES}{base_templates}/"):
            copied = f"{TEMPLATES}{new.form_id}/{name[len(TEMPLATES) + len(base_templates) + 1 :]}"
            written[copied] = _renamed(name, data, base_templates, new)
    procedure_text = _with_form(item.content.decode("utf-8"), item.name, node, new.form_id)
    for name, data in written.items():
        check_file_content(check_file_name(name), data, limit)
        version.files.append(RuleSetFile(name=name, content=data, revision=1))
    check_file_content(item.name, procedure_text.encode("utf-8"), limit)
    item.content = procedure_text.encode("utf-8")
    item.revision += 1
    db.session.flush()
    db.session.refresh(version)
    version.content_hash = content_hash(files_of(version))
    version.updated_at = now
    record(
        actor, "ruleset_form_added", version, now,
        form=new.form_id, base=new.base, procedure=new.procedure,
    )  # fmt: skip
    db.session.commit()
    return [*written, item.name]


def _template_of(definition: str, form_id: str) -> str:
    """Return the template folder a definition names (its ``template:``), or the form's id."""
    data = yaml.safe_load(definition) or {}
    template = (data.get("form") or {}).get("template") if isinstance(data, dict) else None
    return str(template or form_id)


def _definition(text: str, new: NewForm, department: str) -> str:
    """Return the base definition with the new id, title, template and department."""
    values = {
        "id": new.form_id,
        "title": json.dumps(new.title, ensure_ascii=False),  # a JSON string is YAML too
        "template": new.form_id,
        "department": department,
    }
    out = _FORM_KEY.sub(lambda m: f"  {m.group(1)}: {values[m.group(1)] or '…'}", text)
    first = f"# {new.title}（{new.base} をもとに追加。項目と値を、この様式に合わせて直します）\n"
    return first + "\n".join(line for line in out.splitlines() if not line.startswith("# ")) + "\n"


def _renamed(name: str, data: bytes, base: str, new: NewForm) -> bytes:
    """Return a copied template file with the base form's id (CSS scope ``.f-<id>``) renamed."""
    if not name.endswith((".html", ".css", ".yaml")):
        return data
    text = data.decode("utf-8").replace(base, new.form_id)
    if name.endswith("/meta.yaml"):
        meta = yaml.safe_load(text) or {}
        meta["title"] = new.title
        meta["file_name"] = f"{new.title}.pdf"
        text = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return text.encode("utf-8")


def _with_form(text: str, name: str, node: yaml.MappingNode, form_id: str) -> str:
    """Return a procedure file's text with ``form_id`` added to one procedure's ``forms:``."""
    pairs = _pairs(node)
    if "forms" not in pairs:
        raise VersionError(
            "この手続は帳票を作らない（automatic）ので、様式を足せません。",
            hint="帳票を作る手続を選んでください。",
            code="procedure_has_no_forms",
        )
    key, value = pairs["forms"]
    first, last = _span(key, value)
    lines = text.splitlines(keepends=True)
    ids = (
        [_text(v) for v in getattr(value, "value", [])]
        if isinstance(value, yaml.SequenceNode)
        else []
    )
    indent = " " * key.start_mark.column
    listed = yaml.safe_dump(
        [*ids, form_id], allow_unicode=True, default_flow_style=True, width=10**9
    )
    lines[first : last + 1] = [f"{indent}forms: {listed.strip()}\n"]
    return "".join(lines)
