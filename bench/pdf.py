"""Benchmark the documents renderer; print one JSON line (median figures) as the last line.

The case is the largest demo case: the scenario of procedure_rules/ with the most forms
(or, when the rules cannot be loaded, a packet of every template's sample.yaml).

- single_form_warm_ms: one form as a PDF, warm process, cache off (median over the case's
  forms and several rounds)
- packet_warm_ms: the whole signed packet (cover sheet + every form) as the app renders it
  (``render_packet_pdf``): cut into two halves of equal cost rendered side by side in two
  warmed worker processes, joined, numbered and signed; cache cold (every round a new case
  number). packet_warm_cpu_ms: CPU time of that critical path (this process plus the
  busier worker), what the wall clock would be on an idle 2-core machine
- packet_signing_after_prepare_ms: the app's path at signing: the packet was prepared
  unsigned while the resident reviewed it (prepare_packet), signing joins and stamps
- packet_sequential_ms: the same packet rendered in this process alone (no workers),
  cache off
- packet_tagged_ms: the PDF/UA variant of the packet (one HTML document, one process)
- packet_cached_ms: the packet again with unchanged values (served from the cache)
- first_pdf_after_start_ms: in a fresh process, after the start-up warm-up the app runs,
  the first form PDF (startup_warm_up_ms: that warm-up; first_pdf_cold_ms: the first PDF
  of a fresh process that skipped it)
- single_form_cpu_ms, packet_sequential_cpu_ms: CPU time of the rendering process, and
  loadavg_1m: the 1-minute load average before and after; on a shared machine the
  wall-clock figures include waiting for a core.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.documents.pool import DocumentPool  # noqa: E402
from app.documents.render import Documents, FormDocument, RenderContext  # noqa: E402

ROUNDS = 7


def largest_case() -> tuple[str, list[dict[str, Any]], list[dict[str, Any]], str, str]:
    """Return (name, forms, procedures, ruleset version, municipality) of the biggest case."""
    try:
        from app.engine import evaluate, load

        ruleset = load([ROOT / "procedure_rules", ROOT / "form_definitions"])
        best = None
        for scenario in ruleset.scenarios:
            result = evaluate(ruleset, scenario.facts, scenario.as_of).to_json()
            if best is None or len(result["forms"]) > len(best[1]["forms"]):
                best = (scenario.name, result)
        assert best is not None
        name, result = best
        return (
            name,
            result["forms"],
            result["procedures"],
            result["ruleset_version"],
            ruleset.municipality.name,
        )
    except Exception as exc:  # noqa: BLE001 - fall back to the samples, and say so
        print(f"rules unavailable ({exc}); using every sample.yaml", file=sys.stderr)
        docs = Documents()
        forms = [
            {
                "id": t.form_id,
                "title": t.title,
                "fields": t.sample["fields"],
                "rows": t.sample["rows"],
                "department": {"id": "all", "name": "全課"},
            }
            for t in docs.catalog.forms.values()
        ]
        return "all samples", forms, [], "sample", "見本市"


def signature_png() -> bytes:
    """A drawn signature like the resident view sends (600 x 150 PNG)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (600, 150), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(20, 120), (150, 30), (300, 110), (580, 40)], fill="black", width=6)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def worker_cpu_ms(pid: int) -> float:
    """Return the CPU time (user + system) a live process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def first_pdf_in_fresh_process(warm: bool) -> tuple[float, float]:
    """Start a new interpreter; return (warm-up ms, first PDF ms) measured inside it."""
    code = f"""
import json, sys, time
sys.path.insert(0, {str(ROOT)!r})
from app.documents.render import Documents, RenderContext
docs = Documents(cache_size=0)
t = time.perf_counter()
if {warm!r}:
    docs.warm_up()
warm = (time.perf_counter() - t) * 1000
template = docs.catalog.form("jumin_idou")
t = time.perf_counter()
docs.render_form_pdf("jumin_idou", template.sample, RenderContext(case_number="first"))
print(json.dumps([warm, (time.perf_counter() - t) * 1000]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    warm_ms, first_ms = json.loads(out.stdout.strip().splitlines()[-1])
    return warm_ms, first_ms


def main() -> None:
    name, forms, procedures, version, municipality = largest_case()
    print(f"case: {name} ({len(forms)} forms)", file=sys.stderr)
    docs = Documents(cache_size=0)
    docs.warm_up()
    base = RenderContext(case_number="B-0", ruleset_version=version, municipality=municipality)
    items = [FormDocument.of(f) for f in forms]

    load_before = os.getloadavg()[0]
    single: list[float] = []
    single_cpu: list[float] = []
    for _ in range(3):
        for item in items:
            start, cpu = time.perf_counter(), time.process_time()
            docs.render_form_pdf(item.form_id, item.values, base)
            single.append(ms(start))
            single_cpu.append((time.process_time() - cpu) * 1000)

    tagged: list[float] = []
    for _ in range(3):
        start = time.perf_counter()
        docs.render_packet_pdf(items, base, procedures=procedures, tagged=True)
        tagged.append(ms(start))

    pooled = Documents(cache_size=256)
    pooled.warm_up()
    pooled.pool = DocumentPool(str(pooled.root), workers=2)
    pooled.pool.wait_ready()
    sequential: list[float] = []
    sequential_cpu: list[float] = []
    parallel: list[float] = []
    cached: list[float] = []
    parallel_cpu: list[float] = []
    signing: list[float] = []
    signature = signature_png()
    workers = list(pooled.pool.executor._processes)
    try:
        # One process and the pool take turns every round, so both meet the same load.
        for i in range(ROUNDS):
            # Cold cache: a new case number every round; the resident's signature included.
            context = RenderContext(
                case_number=f"B-{i + 1}",
                ruleset_version=version,
                municipality=municipality,
                signature_png=signature,
            )
            start, cpu = time.perf_counter(), time.process_time()
            docs.render_packet_pdf(items, context, procedures=procedures)
            sequential.append(ms(start))
            sequential_cpu.append((time.process_time() - cpu) * 1000)

            before = [worker_cpu_ms(pid) for pid in workers]
            start, cpu = time.perf_counter(), time.process_time()
            pooled.render_packet_pdf(items, context, procedures=procedures)
            parallel.append(ms(start))
            busiest = max(worker_cpu_ms(pid) - b for pid, b in zip(workers, before, strict=True))
            parallel_cpu.append((time.process_time() - cpu) * 1000 + busiest)
            start = time.perf_counter()
            pooled.render_packet_pdf(items, context, procedures=procedures)
            cached.append(ms(start))
            # The app's path: prepared (unsigned) while the resident reviews, then signed.
            review = RenderContext(
                case_number=f"R-{i + 1}", ruleset_version=version, municipality=municipality
            )
            pooled.prepare_packet(items, review, procedures=procedures)
            start = time.perf_counter()
            pooled.render_packet_pdf(
                items, replace(review, signature_png=signature), procedures=procedures
            )
            signing.append(ms(start))
    finally:
        pooled.pool.close()

    fresh = [first_pdf_in_fresh_process(warm=True) for _ in range(3)]
    cold = [first_pdf_in_fresh_process(warm=False)[1] for _ in range(2)]

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 1)

    print(
        json.dumps(
            {
                "single_form_warm_ms": med(single),
                "packet_forms": len(items),
                "packet_warm_ms": med(parallel),
                "packet_sequential_ms": med(sequential),
                "first_pdf_after_start_ms": med([f for _, f in fresh]),
                "packet_tagged_ms": med(tagged),
                "packet_cached_ms": med(cached),
                "packet_signing_after_prepare_ms": med(signing),
                "startup_warm_up_ms": med([w for w, _ in fresh]),
                "first_pdf_cold_ms": med(cold),
                "single_form_max_ms": round(max(single), 1),
                # CPU time of the rendering process: what the wall-clock figures would be
                # on an idle machine (this one is shared; see the load averages).
                "single_form_cpu_ms": med(single_cpu),
                "packet_sequential_cpu_ms": med(sequential_cpu),
                "packet_warm_cpu_ms": med(parallel_cpu),
                "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
