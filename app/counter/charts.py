"""Charts of the office statistics, drawn server-side by matplotlib as SVG (no script).

Each chart comes with a table of the same numbers on the page (the charts are pictures).

The object API only (``Figure``, never ``pyplot``): pyplot keeps global state that threads
of one app process would share. Text is set in IPAexGothic, the font the PDFs use.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from datetime import date
from pathlib import Path

from markupsafe import Markup
from matplotlib import font_manager
from matplotlib.figure import Figure

FONT_FILE = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")
_font_ready = False


def _font() -> str:
    """Register the Japanese font once; return the family name charts use."""
    global _font_ready
    if not _font_ready and FONT_FILE.exists():
        font_manager.fontManager.addfont(str(FONT_FILE))
        _font_ready = True
    return "IPAexGothic" if _font_ready else "sans-serif"


def _svg(figure: Figure, title: str) -> Markup:
    """Return the chart as an <img> of its SVG: inside an image the SVG's own styles apply
    (the page's Content-Security-Policy refuses inline styles in the page itself)."""
    out = io.BytesIO()
    figure.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    data = base64.b64encode(out.getvalue()).decode("ascii")
    return Markup('<img class="chart" src="data:image/svg+xml;base64,{}" alt="{}">').format(
        data, title
    )


def cases_per_day(by_day: dict[date, Counter[str]], titles: dict[str, str]) -> Markup:
    """Stacked bars: cases opened per day, one colour per life event."""
    family = _font()
    figure = Figure(figsize=(7.5, 3.2), dpi=100)
    ax = figure.subplots()
    days = list(by_day)
    events = sorted({e for counts in by_day.values() for e in counts})
    bottom = [0] * len(days)
    for event in events:
        heights = [by_day[d].get(event, 0) for d in days]
        ax.bar(range(len(days)), heights, bottom=bottom, label=titles.get(event, event))
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    step = max(1, len(days) // 10)
    ax.set_xticks(range(0, len(days), step), [f"{d.month}/{d.day}" for d in days[::step]])
    ax.set_ylabel("件数", fontfamily=family)
    ax.yaxis.get_major_locator().set_params(integer=True)
    if events:
        ax.legend(prop={"family": family, "size": 8}, loc="upper left", frameon=False)
    for label in ax.get_xticklabels():
        label.set_fontfamily(family)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(figure, "日ごとの受付件数（ライフイベント別）")


def horizontal_counts(counts: dict[str, int], title: str, unit: str = "件") -> Markup:
    """Horizontal bars of counts by name (departments, where facts came from)."""
    family = _font()
    items = sorted(counts.items(), key=lambda kv: kv[1])
    figure = Figure(figsize=(7.5, max(1.6, 0.35 * len(items) + 0.8)), dpi=100)
    ax = figure.subplots()
    ax.barh(range(len(items)), [v for _k, v in items], color="#0b4f9c")
    ax.set_yticks(range(len(items)), [k for k, _v in items], fontfamily=family)
    ax.set_xlabel(unit, fontfamily=family)
    ax.xaxis.get_major_locator().set_params(integer=True)
    for i, (_k, v) in enumerate(items):
        ax.text(v, i, f" {v}", va="center", fontfamily=family, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(figure, title)
