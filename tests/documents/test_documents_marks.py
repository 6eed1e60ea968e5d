"""The ○ mark encloses the whole chosen word, so a long choice never reads as struck through."""

from __future__ import annotations

import io
import subprocess

import pytest
from PIL import Image
from weasyprint import CSS, HTML

from app.documents.render import Documents

LONG = "父母の一方の単独親権"


def marked_word(docs: Documents, dpi: int) -> Image.Image:
    """Render one circled long choice with the forms' stylesheet; rasterise it like a scanner."""
    html = docs.catalog.env.from_string(
        '{% import "_shared/macros.html" as m %}'
        '<section class="kform"><p>{{ m.circle(v, [v]) }}</p></section>'
    ).render(v=LONG)
    pdf = HTML(string=html, base_url=docs.root.as_uri() + "/").write_pdf(
        stylesheets=[CSS(filename=str(docs.root / "_shared" / "base.css"))]
    )
    png = subprocess.run(
        ["pdftoppm", "-png", "-gray", "-r", str(dpi), "-f", "1", "-l", "1", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    return Image.open(io.BytesIO(png)).convert("L")


@pytest.mark.parametrize("dpi", [80, 300])
def test_the_mark_runs_straight_above_and_below_the_whole_word(docs: Documents, dpi: int) -> None:
    """An ellipse inscribed in the word's box touches its top only mid-word and cuts the end
    characters; the mark must run straight over the word, with round ends beyond it."""
    image = marked_word(docs, dpi)
    left, top, right, bottom = image.point(lambda v: 255 if v < 160 else 0).getbbox()
    height = bottom - top
    inner = range(left + height // 2 + 1, right - height // 2 - 1)
    assert len(inner) > 3 * height, "the mark is not around the whole long word"
    for edge in (range(top, top + max(2, dpi // 100)), range(bottom - max(2, dpi // 100), bottom)):
        covered = [x for x in inner if any(image.getpixel((x, y)) < 200 for y in edge)]
        assert len(covered) / len(inner) > 0.95, f"{dpi} dpi: the mark's edge is not straight"
