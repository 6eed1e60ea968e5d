"""Benchmark the rules engine: load time and evaluate latency at 1×, 10× and 100× size.

Uses the shipped content (procedure_rules/ + form_definitions/) when it has procedures,
replicated 10× and 100× with renamed ids; otherwise a realistic synthetic set of 30
procedures and 300 form fields built on the engine's sample vocabulary. Prints, as its last
line, one JSON object with median (p50) and p99 figures in milliseconds.
"""

from __future__ import annotations

import gc
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.engine import RuleSet, evaluate, load  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "rules"
AS_OF = date(2025, 4, 10)


class _NoAliasDumper(yaml.SafeDumper):
    """A safe dumper that never writes anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        """Write every object in full."""
        return True


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # The rules loader refuses YAML aliases; write shared objects out in full each time.
    text = yaml.dump(data, Dumper=_NoAliasDumper, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")


# ---- replicate shipped content ---------------------------------------------------------


def _content_has_procedures() -> bool:
    folder = ROOT / "procedure_rules" / "procedures"
    return folder.is_dir() and any(folder.rglob("*.yaml"))


def _replicate(rules: Path, forms: Path, out: Path, factor: int) -> None:
    """Copy a rule set, adding factor-1 renamed copies of every procedure and form."""
    for path in rules.rglob("*.yaml"):
        rel = path.relative_to(rules)
        if rel.parts[0] in ("procedures", "scenarios"):
            continue
        target = out / "procedure_rules" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    for path in sorted((rules / "procedures").rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        # Each copy in a file of its own: the loader refuses a file over 1 M characters
        # (issue 18), and a real 10× rule set would be split into files anyway.
        for n in range(factor):
            copies = []
            for proc in data["procedures"]:
                item = dict(proc)
                if n:
                    item["id"] = f"{proc['id']}_x{n}"
                    item["forms"] = [f"{f}_x{n}" for f in proc.get("forms") or []]
                    if not item["forms"]:
                        item.pop("forms")
                copies.append(item)
            name = path.name if not n else f"{path.stem}_x{n}.yaml"
            _dump(out / "procedure_rules" / "procedures" / name, {"procedures": copies})
    for path in sorted(forms.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for n in range(factor):
            form = dict(data["form"])
            if n:
                form["id"] = f"{form['id']}_x{n}"
            _dump(out / "form_definitions" / f"{form['id']}.yaml", {"form": form})


# ---- synthetic content ------------------------------------------------------------------

CONDITIONS = [
    "deceased.kokuho_member and deceased.age >= {a}",
    "any(p in household: default(p.moving, false) and p.age >= {a})",
    "count(p in household: 'child' in p.roles) >= 1 and {a} < 200",
    "'household_head' in deceased.roles and count(p in household: not ('deceased' in p.roles)) >= 2",
    "birth.weight_g < param.low_birth_weight_g + {a}",
    "any(p in household: 'child' in p.roles and as_of <= march31_after(age_reached_on(p.birth_date, 18)))",
]
FIELDS = [
    {"label": "届出年月日", "value": "as_of", "format": "wareki", "required": True},
    {"label": "故人氏名", "value": "deceased.name", "required": True},
    {"label": "故人フリガナ", "value": "deceased.name_kana", "format": "katakana"},
    {
        "label": "故人生年月日",
        "value": "deceased.birth_date",
        "format": "wareki_parts",
        "required": True,
    },
    {"label": "死亡日", "value": "death.date", "format": "wareki", "required": True},
    {"label": "世帯主", "value": "household_head.name"},
    {"label": "旧住所", "value": "move.from_address"},
    {"label": "金額", "value": "param.sosaihi_kokuho", "format": "yen"},
    {
        "label": "申請者",
        "value": "concat(applicant.name, '（', default(applicant.relationship, '本人'), '）')",
    },
    {
        "label": "国保",
        "value": "any(p in household: default(p.kokuho_member, false))",
        "format": "checkbox",
    },
]


def _synthetic(out: Path, factor: int) -> None:
    """Write 30×factor procedures, each with a 10-field form (every 3rd with member rows)."""
    rules = out / "procedure_rules"
    for name in ("municipality.yaml", "laws.yaml", "roles.yaml", "events.yaml", "parameters.yaml"):
        (rules).mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLE / "procedure_rules" / name, rules / name)
    shutil.copytree(SAMPLE / "procedure_rules" / "facts", rules / "facts")
    events = ["death", "move_in", "birth"]
    departments = ["shimin", "hoken_nenkin", "kaigo_hoken", "kosodate"]
    procedures = []
    for i in range(30 * factor):
        form_id = f"bench_form_{i}"
        procedures.append(
            {
                "id": f"bench_proc_{i}",
                "title": f"ベンチマーク手続 {i}",
                "events": [events[i % 3]],
                "department": departments[i % 4],
                "legal_basis": {"law": "jukiho", "article": f"第{i + 1}条"},
                "applies_when": CONDITIONS[i % len(CONDITIONS)].format(a=i % 80),
                "reason": "{deceased.name}さんが亡くなったため（ベンチマーク）",
                "plain": "べんちまーく の てつづき です。",
                "deadline": {
                    "from": "death.date",
                    "days": 14,
                    "start": "day_after",
                    "rolls_over": True,
                    "why": "ベンチマーク",
                    "label": "14日以内",
                },
                "forms": [form_id],
            }
        )
        fields = [{"id": f"f{n}", **spec} for n, spec in enumerate(FIELDS)]
        form: dict[str, Any] = {
            "id": form_id,
            "title": f"ベンチマーク様式 {i}",
            "department": departments[i % 4],
            "template": form_id,
            "fields": fields[:7] if i % 3 == 0 else fields,
        }
        if i % 3 == 0:  # 7 fields + 3 per row: still 10 field definitions per form
            form["rows"] = [
                {
                    "id": "members",
                    "for_each": "p in household: not ('deceased' in p.roles)",
                    "max": 4,
                    "fields": [
                        {"id": "name", "label": "氏名", "value": "p.name", "required": True},
                        {
                            "id": "birth_date",
                            "label": "生年月日",
                            "value": "p.birth_date",
                            "format": "wareki",
                        },
                        {"id": "age", "label": "年齢", "value": "p.age"},
                    ],
                }
            ]
        _dump(out / "form_definitions" / f"{form_id}.yaml", {"form": form})
    for n in range(0, len(procedures), 10):
        _dump(
            rules / "procedures" / f"bench_{n // 10:03d}.yaml",
            {"procedures": procedures[n : n + 10]},
        )


# ---- cases ------------------------------------------------------------------------------

FULL_CASE: dict[str, Any] = {
    "case.events": ["death", "move_in", "birth"],
    "death.date": "2025-04-07",
    "death.funeral_date": "2025-04-09",
    "move.date": "2025-04-01",
    "move.from_address": "大阪府大阪市北区梅田1-1",
    "birth.date": "2025-04-03",
    "birth.weight_g": 2400,
    "household[0].roles": ["deceased", "household_head"],
    "household[0].name": "山田 太郎",
    "household[0].name_kana": "ヤマダ タロウ",
    "household[0].birth_date": "1947-03-02",
    "household[0].kokuho_member": True,
    "household[0].inkan_registered": True,
    "household[0].kaigo_certified": False,
    "household[1].roles": ["spouse", "applicant"],
    "household[1].name": "山田 花子",
    "household[1].birth_date": "1950-07-30",
    "household[1].kokuho_member": True,
    "household[1].moving": True,
    "household[2].roles": ["child"],
    "household[2].name": "山田 一郎",
    "household[2].birth_date": "2012-05-05",
    "household[2].moving": True,
    "household[3].roles": ["child", "newborn"],
    "household[3].name": "山田 蓮",
    "household[3].birth_date": "2025-04-03",
    "household[3].moving": False,
}


def _times(fn: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _cases(use_content: bool) -> list[tuple[dict[str, Any], date]]:
    """Return the cases to time: the content's own scenarios, or the synthetic full case."""
    if use_content:
        content = load([ROOT / "procedure_rules", ROOT / "form_definitions"])
        if content.scenarios:
            return [(dict(s.facts), s.as_of) for s in content.scenarios]
    return [(FULL_CASE, AS_OF)]


def _early(facts: dict[str, Any]) -> dict[str, Any]:
    """Return the start of an interview: only the life events and who holds which role."""
    return {k: v for k, v in facts.items() if k == "case.events" or k.endswith(".roles")}


def _cycle(ruleset: RuleSet, cases: list[tuple[dict[str, Any], date]], runs: int) -> list[float]:
    """Time ``runs`` evaluations going round the cases."""
    out = []
    for n in range(runs):
        facts, as_of = cases[n % len(cases)]
        start = time.perf_counter()
        evaluate(ruleset, facts, as_of)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> None:
    """Build the three rule set sizes, measure, and print the JSON line."""
    use_content = _content_has_procedures()
    figures: dict[str, Any] = {"evaluate_p50_ms": {}, "evaluate_p99_ms": {}}
    sizes: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for factor in (1, 10, 100):
            out = Path(tmp) / f"x{factor}"
            if use_content:
                _replicate(ROOT / "procedure_rules", ROOT / "form_definitions", out, factor)
            else:
                _synthetic(out, factor)
            paths = [out / "procedure_rules", out / "form_definitions"]
            loads = _times(lambda paths=paths: load(paths), 5 if factor == 1 else 1)
            ruleset: RuleSet = load(paths)
            gc.freeze()  # as app/services/rules.py does after every load
            if factor == 1:
                cases = _cases(use_content)
            runs = {1: 400, 10: 100, 100: 15}[factor]
            for facts, as_of in cases:  # warm caches (parameters per day, postal lookups)
                evaluate(ruleset, facts, as_of)
            times = _cycle(ruleset, cases, runs)
            key = f"{factor}x"
            figures["evaluate_p50_ms"][key] = round(statistics.median(times), 3)
            figures["evaluate_p99_ms"][key] = round(_p99(times), 3)
            results = [evaluate(ruleset, facts, as_of) for facts, as_of in cases]
            sizes[key] = {
                "procedures": len(ruleset.procedures),
                "fields": sum(
                    len(f.fields) + sum(len(r.fields) for r in f.rows)
                    for f in ruleset.forms.values()
                ),
                "cases": len(cases),
                "applied_mean": round(statistics.mean(len(r.procedures) for r in results), 1),
                "forms_filled_mean": round(statistics.mean(len(r.forms) for r in results), 1),
                "load_ms": round(statistics.median(loads), 1),
            }
            if factor == 1:
                figures["load_ms"] = round(statistics.median(loads), 1)
                early_cases = [(_early(facts), as_of) for facts, as_of in cases]
                early = _cycle(ruleset, early_cases, runs)
                figures["next_questions_p50_ms"] = round(statistics.median(early), 3)
                figures["next_questions_mean"] = round(
                    statistics.mean(
                        len(evaluate(ruleset, f, d).next_questions) for f, d in early_cases
                    ),
                    1,
                )
    figures["content"] = "shipped" if use_content else "synthetic"
    figures["sizes"] = sizes
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
