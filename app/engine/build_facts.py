"""Build fact definitions from the facts documents."""

from __future__ import annotations

import re
from typing import Any

from app.engine.errors import did_you_mean
from app.engine.factids import CASE_FACT_ID as _CASE_FACT_ID
from app.engine.factids import ID as _ID
from app.engine.facts import FACT_TYPE_NAMES, SENSITIVITIES, FactDef
from app.engine.loader_base import LoaderBase
from app.engine.model import (
    Role,
)
from app.engine.schema import FACT_KEYS, TEXT_MAX_LENGTH_CEILING, VALIDATION_KEYS
from app.engine.source import Pos, YMap


class FactsBuilder(LoaderBase):
    """Build fact definitions from the facts documents."""

    def _check_lengths(self, validation: YMap, ident: str) -> None:
        """Check min_length/max_length: whole numbers, the box at most the ceiling."""
        for key in ("min_length", "max_length"):
            if key not in validation:
                continue
            value = validation[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                self.problem(validation.where(key), ident, f"{key} は1以上の整数で書きます", "")
            elif value > TEXT_MAX_LENGTH_CEILING:
                self.problem(
                    validation.where(key),
                    ident,
                    f"{key} {value} は上限 {TEXT_MAX_LENGTH_CEILING} 文字を超えています",
                    "実際の様式の欄に入る文字数を書きます",
                )

    def facts(
        self, events: dict[str, str], roles: dict[str, Role]
    ) -> tuple[dict[str, FactDef], dict[str, tuple[YMap, str]]]:
        """Check the fact declarations; return them and the derived ones to compile."""
        facts: dict[str, FactDef] = {
            "case.events": FactDef(
                "case.events", "list", "届出の事由", choices=dict(events), order=-1
            ),
        }
        derives: dict[str, tuple[YMap, str]] = {}
        seen: dict[str, Pos] = {"case.events": Pos("(built in)", 1, 1)}
        order = 0
        for _, raw, pos in self.docs["facts"]:
            for item, item_pos in self.items(raw, pos, "事実", "facts"):
                fid = str(item.get("id", ""))
                ident = f"事実 '{fid}'"
                self.keys(item, ident, FACT_KEYS, ("id", "type", "label"))
                per = item.get("per", "case")
                if per not in ("case", "person"):
                    self.problem(
                        item.where("per"),
                        ident,
                        f"per は case か person です（'{per}' は使えません）",
                        "世帯員ごとの事実なら per: person と書きます",
                    )
                    continue
                if not fid or self.dup(seen, fid, item_pos, ident):
                    continue
                if per == "person" and not _ID.match(fid):
                    hint = (
                        f"id: {fid.split('.')[-1]} と書きます（世帯員ごとの事実は名前だけ）"
                        if "." in fid
                        else "英小文字・数字・_ で書きます"
                    )
                    self.problem(item.where("id"), ident, "世帯員ごとの事実のidは名前1つです", hint)
                    continue
                if per == "case" and not _CASE_FACT_ID.match(fid):
                    self.problem(
                        item.where("id"),
                        ident,
                        "案件の事実のidは <グループ>.<名前> です",
                        f"例: death.date。世帯員ごとの事実なら per: person を加えます（'{fid}'）",
                    )
                    continue
                if per == "case" and fid.split(".")[0] in roles:
                    self.problem(
                        item.where("id"),
                        ident,
                        f"'{fid.split('.')[0]}' は役割の名前です",
                        f"per: person の事実 '{fid.split('.')[1]}' として定義します",
                    )
                    continue
                ftype = str(item.get("type", ""))
                if ftype not in FACT_TYPE_NAMES:
                    self.problem(
                        item.where("type"),
                        ident,
                        f"不明な型 '{ftype}'",
                        did_you_mean(ftype, FACT_TYPE_NAMES)
                        or f"次のどれか: {', '.join(FACT_TYPE_NAMES)}",
                    )
                    continue
                choices: dict[str, str] = {}
                if "choices" in item:
                    mapped = self.mapping(item["choices"], item.where("choices"), ident, "choices")
                    if mapped is not None:
                        choices = {str(k): str(v) for k, v in mapped.items()}
                if ftype == "choice" and not choices:
                    self.problem(
                        item.pos,
                        ident,
                        "選択肢の事実には choices が必要です",
                        "choices: {キー: 表示名, …} を書きます",
                    )
                validation: dict[str, Any] = {}
                if "validation" in item:
                    mapped = self.mapping(
                        item["validation"], item.where("validation"), ident, "validation"
                    )
                    if mapped is not None:
                        self.keys(mapped, ident, VALIDATION_KEYS)
                        validation = dict(mapped)
                        self._check_lengths(mapped, ident)
                        if "pattern" in validation:
                            try:
                                re.compile(str(validation["pattern"]))
                            except re.error as exc:
                                self.problem(
                                    mapped.where("pattern"),
                                    ident,
                                    f"pattern が正規表現として正しくありません（{exc}）",
                                    "",
                                )
                sensitivity = str(item.get("sensitivity", "normal"))
                if sensitivity not in SENSITIVITIES:
                    self.problem(
                        item.where("sensitivity"),
                        ident,
                        f"不明な sensitivity '{sensitivity}'",
                        f"次のどれか: {', '.join(SENSITIVITIES)}",
                    )
                fact = FactDef(
                    fid,
                    ftype,
                    str(item.get("label", "")),
                    per_person=per == "person",
                    help=str(item.get("help", "") or ""),
                    choices=choices,
                    validation=validation,
                    sensitivity=sensitivity if sensitivity in SENSITIVITIES else "normal",
                    derive_text=str(item["derive"]) if "derive" in item else None,
                    order=order,
                )
                if "ask" in item and not isinstance(item["ask"], bool):
                    self.problem(
                        item.where("ask"),
                        ident,
                        "ask は true か false です",
                        "住基や読み取りからだけ入る事実なら ask: false と書きます",
                    )
                fact.ask = item.get("ask") is not False
                order += 1
                facts[fid] = fact
                if fact.derive_text is not None:
                    derives[fid] = (item, ident)
        return facts, derives

    # -- parameters ------------------------------------------------------------------------
