"""QR codes shown on screen (the join link): segno, as inline SVG with an accessible name."""

from __future__ import annotations

import segno
from markupsafe import escape


def qr_svg(text: str, label: str, scale: int = 6) -> str:
    """Return a QR code of ``text`` as inline SVG markup, named ``label`` for screen readers."""
    qr = segno.make_qr(text, error="m")
    svg = qr.svg_inline(scale=scale, border=4, light="#fff", dark="#000")
    # segno's SVG carries no role or name: give it one (WCAG 1.1.1).
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
