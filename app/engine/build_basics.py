"""Build the municipality, roles, parameters and events from their documents."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from app.engine.compiler import Compiled, CompileError, Compiler
from app.engine.errors import Problem, did_you_mean
from app.engine.factids import ID as _ID
from app.engine.legal_calendar import YEAR_END_DAYS, LegalCalendar
from app.engine.loader_base import (
    _PARAM_TYPES,
    LoaderBase,
    _param_value_ok,
    municipality_code_valid,
)
from app.engine.model import (
    Department,
    Event,
    Law,
    Municipality,
    Parameter,
    Role,
)
from app.engine.schema import (
    CALENDARS,
    CLOSED_DAYS_KEYS,
    DEPARTMENT_KEYS,
    EVENT_KEYS,
    LAW_KEYS,
    MUNICIPALITY_KEYS,
    PARAM_VALUE_KEYS,
    PARAMETER_KEYS,
    ROLE_KEYS,
    YEAR_END_KEYS,
)
from app.engine.source import Pos, YList, YMap


def _month_days(first: tuple[int, int], last: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """Return every month-day from ``first`` to ``last``, across the new year if needed."""
    day = date(2000, *first)  # a leap year, so 02-29 can be named
    end_year = 2000 if last >= first else 2001
    end = date(end_year, *last)
    out = []
    while day <= end:
        out.append((day.month, day.day))
        day += timedelta(days=1)
    return tuple(out)


class BasicsBuilder(LoaderBase):
    """Build the municipality, roles, parameters and events from their documents."""

    def municipality(self) -> Municipality:
        """Check and build the municipality profile."""
        docs = self.docs["municipality"]
        empty = Municipality("", "", "", "", "", {}, {})
        if not docs:
            self.problems.append(
                Problem(
                    "procedure_rules/municipality.yaml",
                    1,
                    1,
                    "市の設定",
                    "市の設定（municipality.yaml）がありません",
                    "municipality.yaml に municipality: と name, code, departments を書きます",
                )
            )
            return empty
        for _name, _, pos in docs[1:]:
            self.problem(
                pos,
                "市の設定",
                "市の設定が2つあります",
                f"1つだけにします（最初のものは {docs[0][0]}）",
            )
        _, raw, pos = docs[0]
        data = self.mapping(raw, pos, "市の設定", "municipality")
        if data is None:
            return empty
        self.keys(data, "市の設定", MUNICIPALITY_KEYS, ("name", "code", "departments"))
        code = str(data.get("code", ""))
        if "code" in data and not municipality_code_valid(code):
            self.problem(
                data.where("code"),
                "市の設定",
                f"'{code}' は正しい全国地方公共団体コードではありません",
                '6桁（最後が検査数字）を引用符で囲んで書きます: code: "132241"',
            )
        departments: dict[str, Department] = {}
        seen: dict[str, Pos] = {}
        for item, item_pos in self.items(
            data.get("departments"), data.where("departments"), "市の設定", "departments"
        ):
            did = str(item.get("id", ""))
            ident = f"課 '{did}'"
            self.keys(item, ident, DEPARTMENT_KEYS, ("id", "name"))
            if not did or self.dup(seen, did, item_pos, ident):
                continue
            floor = item.get("floor")
            departments[did] = Department(
                did,
                str(item.get("name", "")),
                floor if isinstance(floor, int) else None,
                self.text(item, "counter", ident),
            )
        options: dict[str, Any] = {}
        raw_options = data.get("options")
        if raw_options is not None:
            mapped = self.mapping(raw_options, data.where("options"), "市の設定", "options")
            if mapped is not None:
                for key, value in mapped.items():
                    if isinstance(value, bool | int | str):
                        options[key] = value
                    else:
                        self.problem(
                            mapped.where(key),
                            f"オプション '{key}'",
                            "オプションは true/false・数値・文字のどれかです",
                            "",
                        )
        calendar, basis = self.closed_days(data)
        return Municipality(
            str(data.get("name", "")),
            code,
            str(data.get("prefecture", "")),
            str(data.get("address", "")),
            str(data.get("phone", "")),
            departments,
            options,
            calendar,
            basis,
        )

    def closed_days(self, data: YMap) -> tuple[LegalCalendar, str | None]:
        """Build the legal calendar from the profile's closed days (休日条例): 年末年始 and extra days."""
        ident = "市の設定 closed_days"
        if data.get("closed_days") is None:
            return LegalCalendar(), None
        closed = self.mapping(data["closed_days"], data.where("closed_days"), ident, "closed_days")
        if closed is None:
            return LegalCalendar(), None
        self.keys(closed, ident, CLOSED_DAYS_KEYS, ("calendar",))
        name = str(closed.get("calendar", "japan"))
        if name not in CALENDARS:
            self.problem(
                closed.where("calendar"),
                ident,
                f"不明な暦 '{name}'",
                did_you_mean(name, CALENDARS)
                or "calendar: japan（国民の祝日と土日。祝日は jpholiday から）を書きます",
            )
        year_end = YEAR_END_DAYS
        if closed.get("year_end") is not None:
            span = self.mapping(closed["year_end"], closed.where("year_end"), ident, "year_end")
            if span is not None:
                self.keys(span, ident, YEAR_END_KEYS, ("from", "to"))
                first = self.month_day(span, "from", ident)
                last = self.month_day(span, "to", ident)
                if first and last:
                    year_end = _month_days(first, last)
        extra: list[date] = []
        raw = closed.get("extra")
        if raw is not None:
            if not isinstance(raw, YList):
                self.problem(
                    closed.where("extra"),
                    ident,
                    "extra: は日付のリストです",
                    "extra: [2026-06-01, 2026-11-03] のように書きます",
                )
            else:
                for value, pos in zip(raw, raw.item_pos, strict=True):
                    if isinstance(value, date) and not hasattr(value, "hour"):
                        extra.append(value)
                    else:
                        self.problem(
                            pos, ident, f"'{value}' は日付ではありません", "YYYY-MM-DD で書きます"
                        )
        return LegalCalendar(year_end, frozenset(extra)), self.text(closed, "basis", ident)

    def month_day(self, data: YMap, key: str, ident: str) -> tuple[int, int] | None:
        """Return a month and day written MM-DD, reporting anything else."""
        text = str(data.text_of(key)) if key in data else ""
        match = re.fullmatch(r"(\d{1,2})-(\d{1,2})", text)
        if match:
            month, day = int(match.group(1)), int(match.group(2))
            try:
                date(2000, month, day)
                return month, day
            except ValueError:
                pass
        if key in data:
            self.problem(
                data.where(key),
                ident,
                f"'{text}' は月日ではありません",
                '"12-29" のように月-日で書きます',
            )
        return None

    def laws(self) -> dict[str, Law]:
        """Check and build the table of laws (laws.yaml) that legal bases name by id."""
        seen: dict[str, Pos] = {}
        for _, raw, pos in self.docs["laws"]:
            data = self.mapping(raw, pos, "法令一覧", "laws")
            if data is None:
                continue
            for lid, value in data.items():
                ident = f"法令 '{lid}'"
                lid = str(lid)
                if self.dup(seen, lid, data.key_pos[lid], ident):
                    continue
                if not _ID.match(lid):
                    self.problem(
                        data.key_pos[lid],
                        ident,
                        "idは英小文字・数字・_ で書きます",
                        "例: jukiho, kokuho_ho",
                    )
                entry = self.mapping(value, data.where(lid), ident, lid)
                if entry is None:
                    continue
                self.keys(entry, ident, LAW_KEYS, ("name",))
                url = self.text(entry, "url", ident)
                if url is not None and not url.startswith("https://"):
                    self.problem(
                        entry.where("url"),
                        ident,
                        "url は https:// で始めます",
                        "e-Govの法令ページ（https://laws.e-gov.go.jp/law/…）を書きます",
                    )
                self.law_table[lid] = Law(
                    lid, str(entry.get("name", "")), self.text(entry, "number", ident), url
                )
        return self.law_table

    def roles(self) -> dict[str, Role]:
        """Check and build the roles."""
        roles: dict[str, Role] = {}
        seen: dict[str, Pos] = {}
        for _, raw, pos in self.docs["roles"]:
            for item, item_pos in self.items(raw, pos, "役割", "roles"):
                rid = str(item.get("id", ""))
                ident = f"役割 '{rid}'"
                self.keys(item, ident, ROLE_KEYS, ("id", "label"))
                if not rid or self.dup(seen, rid, item_pos, ident):
                    continue
                if not _ID.match(rid):
                    self.problem(
                        item.where("id"),
                        ident,
                        "idは英小文字・数字・_ で書きます",
                        "例: household_head",
                    )
                roles[rid] = Role(rid, str(item.get("label", "")), bool(item.get("single", False)))
        return roles

    # -- facts -----------------------------------------------------------------------------

    def parameters(self) -> dict[str, Parameter]:
        """Check and build dated parameters; refuse overlapping periods."""
        params: dict[str, Parameter] = {}
        seen: dict[str, Pos] = {}
        for _, raw, pos in self.docs["parameters"]:
            for item, item_pos in self.items(raw, pos, "パラメータ", "parameters"):
                pid = str(item.get("id", ""))
                ident = f"パラメータ '{pid}'"
                self.keys(item, ident, PARAMETER_KEYS, ("id", "type", "values"))
                if not pid or self.dup(seen, pid, item_pos, ident):
                    continue
                ptype = str(item.get("type", ""))
                if ptype not in _PARAM_TYPES:
                    self.problem(
                        item.where("type"),
                        ident,
                        f"不明なパラメータの型 '{ptype}'",
                        did_you_mean(ptype, _PARAM_TYPES)
                        or f"次のどれか: {', '.join(_PARAM_TYPES)}",
                    )
                    continue
                basis = self.legal(item, "legal_basis", ident)
                rows: list[tuple[date, date | None, Any, Pos]] = []
                for value_item, value_pos in self.items(
                    item.get("values"), item.where("values"), ident, "values"
                ):
                    self.keys(value_item, ident, PARAM_VALUE_KEYS, ("valid_from", "value"))
                    start = self.a_date(value_item, "valid_from", ident)
                    end = self.a_date(value_item, "valid_until", ident)
                    value = value_item.get("value")
                    if not _param_value_ok(ptype, value):
                        self.problem(
                            value_item.where("value"), ident, f"value は {ptype} で書きます", ""
                        )
                        continue
                    if start is not None:
                        rows.append((start, end, value, value_pos))
                rows.sort(key=lambda r: r[0])
                for before, after in zip(rows, rows[1:], strict=False):
                    if before[1] is not None and before[1] >= after[0]:
                        self.problem(
                            after[3],
                            ident,
                            f"期間が重なっています: {before[0]}〜{before[1]} と {after[0]}〜",
                            "前の値の valid_until を次の値の前日にします",
                        )
                    if before[0] == after[0]:
                        self.problem(
                            after[3], ident, f"{after[0]} からの値が2つあります", "1つにします"
                        )
                if basis is None:
                    continue
                value_ty = "date" if ptype == "date" else ptype
                params[pid] = Parameter(
                    pid,
                    str(item.get("label", "")),
                    value_ty,
                    basis,
                    tuple(r[0] for r in rows),
                    tuple(r[1] for r in rows),
                    tuple(r[2] for r in rows),
                )
        return params

    # -- events, procedures, forms ---------------------------------------------------------

    def event_titles(self) -> dict[str, str]:
        """Return event ids and titles (needed before facts are compiled)."""
        titles: dict[str, str] = {}
        for _, raw, pos in self.docs["events"]:
            for item, _ in self.items(raw, pos, "ライフイベント", "events"):
                if "id" in item:
                    titles.setdefault(str(item["id"]), str(item.get("title", "")))
        return titles

    def events(self, compiler: Compiler) -> dict[str, Event]:
        """Check and build life events with their compiled asks."""
        events: dict[str, Event] = {}
        seen: dict[str, Pos] = {}
        for _, raw, pos in self.docs["events"]:
            for item, item_pos in self.items(raw, pos, "ライフイベント", "events"):
                eid = str(item.get("id", ""))
                ident = f"ライフイベント '{eid}'"
                self.keys(item, ident, EVENT_KEYS, ("id", "title"))
                if not eid or self.dup(seen, eid, item_pos, ident):
                    continue
                asks: list[Compiled] = []
                for text, ask_pos in self.string_list(item, "asks", ident):
                    try:
                        asks.append(compiler.compile(text))
                    except CompileError as exc:
                        self.problem(ask_pos.at(exc.at), ident, exc.message, exc.hint)
                events[eid] = Event(eid, str(item.get("title", "")), tuple(asks))
        return events
