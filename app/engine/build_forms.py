"""Build forms, their fields and rows."""

from __future__ import annotations

from pathlib import Path

from app.engine.compiler import Compiler, Scope
from app.engine.errors import did_you_mean
from app.engine.facts import FactDef
from app.engine.loader_base import FORMATS, LoaderBase, _choices_of, _format_hint
from app.engine.model import (
    FieldDef,
    Form,
    Municipality,
    RowGroup,
)
from app.engine.schema import FIELD_KEYS, FORM_KEYS, ROW_KEYS
from app.engine.source import Pos, YMap
from app.engine.types import PERSON

_NEED_NAMES = {"date": "日付", "text": "文字", "number": "数値", "boolean": "真偽値"}


class FormsBuilder(LoaderBase):
    """Build forms, their fields and rows."""

    def field(
        self, compiler: Compiler, item: YMap, ident: str, scope: Scope, facts: dict[str, FactDef]
    ) -> FieldDef | None:
        """Check and compile one form field, its format against its type."""
        self.keys(item, ident, FIELD_KEYS, ("id", "label"))
        if "value" not in item or item["value"] is None:
            self.problem(
                item.pos,
                ident,
                "欄に value がありません",
                "value: <事実の式> を書きます（どの欄も事実から埋めます）",
            )
            return None
        fmt = str(item.get("format", "text"))
        if fmt not in FORMATS:
            self.problem(
                item.where("format"),
                ident,
                f"不明な format '{fmt}'",
                did_you_mean(fmt, FORMATS) or f"次のどれか: {', '.join(FORMATS)}",
            )
            return None
        value = self.compile(compiler, item, "value", ident, None, scope)
        if value is None:
            return None
        need = FORMATS[fmt]
        choices: dict[str, str] | None = None
        if need == "choice":
            choices = _choices_of(value.ty, facts)
            if choices is None:
                self.problem(
                    item.where("format"),
                    ident,
                    "format: choice_label は選択肢の事実にだけ使えます",
                    "format: text を使います",
                )
                return None
        elif need is not None and value.ty.kind not in (need, "any"):
            self.problem(
                item.where("format"),
                ident,
                f"format: {fmt} には{_NEED_NAMES.get(need, need)}が必要です（値は{value.ty}）",
                _format_hint(value.ty),
            )
            return None
        required = item.get("required", False)
        return FieldDef(
            str(item.get("id", "")),
            str(item.get("label", "")),
            value,
            fmt,
            required is True,
            choices,
            item.where("value"),
        )

    def forms(
        self, compiler: Compiler, muni: Municipality, facts: dict[str, FactDef]
    ) -> dict[str, Form]:
        """Check and compile every form with its fields and rows."""
        forms: dict[str, Form] = {}
        seen: dict[str, Pos] = {}
        for file, raw, pos in self.docs["form"]:
            data = self.mapping(raw, pos, "form", "form")
            if data is None:
                continue
            fid = str(data.get("id", ""))
            ident = f"様式 '{fid}'"
            self.keys(data, ident, FORM_KEYS, ("id", "title", "department", "template"))
            if fid and Path(file).stem != fid:
                self.problem(
                    data.where("id"),
                    ident,
                    f"ファイル名は様式のidにします（{fid}.yaml）",
                    f"ファイル名を変えるか、id: {Path(file).stem} と書きます",
                )
            if not fid or self.dup(seen, fid, data.pos, ident):
                continue
            department = self.department(data, ident, muni)
            per_person = (
                self.binding(compiler, data, "per_person", ident)
                if data.get("per_person")
                else None
            )
            scope = Scope().bind(per_person.var, PERSON) if per_person else Scope()
            audience = (
                self.binding(compiler, data, "audience", ident, scope)
                if data.get("audience")
                else None
            )
            fields: list[FieldDef] = []
            field_seen: dict[str, Pos] = {}
            for item, item_pos in self.items(
                data.get("fields"), data.where("fields"), ident, "fields"
            ):
                field_ident = f"様式 '{fid}' の欄 '{item.get('id', '')}'"
                if self.dup(field_seen, str(item.get("id", "")), item_pos, field_ident):
                    continue
                built = self.field(compiler, item, field_ident, scope, facts)
                if built is not None:
                    fields.append(built)
            rows: list[RowGroup] = []
            for item, item_pos in self.items(data.get("rows"), data.where("rows"), ident, "rows"):
                rid = str(item.get("id", ""))
                row_ident = f"様式 '{fid}' の表 '{rid}'"
                self.keys(item, row_ident, ROW_KEYS, ("id", "for_each", "fields"))
                if self.dup(field_seen, rid, item_pos, row_ident) or "for_each" not in item:
                    continue
                binding = self.binding(compiler, item, "for_each", row_ident, scope)
                if binding is None:
                    continue
                row_scope = scope.bind(binding.var, PERSON)
                row_fields = []
                for field_item, field_pos in self.items(
                    item.get("fields"), item.where("fields"), row_ident, "fields"
                ):
                    field_ident = f"様式 '{fid}' の欄 '{rid}.{field_item.get('id', '')}'"
                    if self.dup(
                        field_seen, f"{rid}.{field_item.get('id', '')}", field_pos, field_ident
                    ):
                        continue
                    built = self.field(compiler, field_item, field_ident, row_scope, facts)
                    if built is not None:
                        row_fields.append(built)
                limit = item.get("max")
                if limit is not None and (not isinstance(limit, int) or limit < 1):
                    self.problem(
                        item.where("max"),
                        row_ident,
                        "max は1以上の整数です",
                        "紙の様式の行数を書きます",
                    )
                    limit = None
                rows.append(
                    RowGroup(rid, str(item.get("label", "")), binding, limit, tuple(row_fields))
                )
            if department is None:
                continue
            template = str(data.get("template", fid))
            forms[fid] = Form(
                fid,
                str(data.get("title", "")),
                department,
                template,
                per_person,
                tuple(fields),
                tuple(rows),
                data.pos,
                audience,
            )
        return forms

    # -- scenarios -------------------------------------------------------------------------
