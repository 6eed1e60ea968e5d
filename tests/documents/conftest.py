"""Fixtures for the documents tests: one renderer over the real templates, PDF tools."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from app.documents.catalog import PRINT_GLYPHS
from app.documents.render import DEFAULT_ROOT, Documents, RenderContext

ROOT = DEFAULT_ROOT.parent
FORM_DEFINITIONS = sorted((ROOT / "form_definitions").glob("*.yaml"))
CONTEXT = RenderContext(
    case_number="2025-0042",
    ruleset_version="3f2a9c1d0b7e",
    municipality="みどり市",
    prefecture="東京都",
)


def definition(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["form"]


@pytest.fixture(scope="session")
def docs() -> Documents:
    """The renderer over the repository's pdf_templates/, without a cache."""
    return Documents(DEFAULT_ROOT, cache_size=0)


def pdf_text(pdf: bytes) -> str:
    """Return the text pdftotext extracts from a PDF."""
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")


def pdf_fonts(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdffonts", str(path)], capture_output=True, check=True, text=True
    ).stdout


def page_image(pdf: bytes, page: int = 1, dpi: int = 200) -> Image.Image:
    """Rasterise one page with pdftoppm, as a printer or scanner would see it."""
    png = subprocess.run(
        ["pdftoppm", "-png", "-gray", "-r", str(dpi), "-f", str(page), "-l", str(page), "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    return Image.open(io.BytesIO(png))


def squash(text: str) -> str:
    """Drop whitespace and print the glyphs IPAex lacks as the renderer does."""
    return re.sub(r"\s+", "", text.translate(PRINT_GLYPHS))


def filled_values(values: dict[str, Any]) -> list[str]:
    """Every non-empty printed value of a {fields, rows} sample, wareki parts one by one."""
    out: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, dict):
            for part in value.values():
                add(part)
        elif value not in (None, ""):
            out.append(str(value))

    for value in (values.get("fields") or {}).values():
        add(value)
    for rows in (values.get("rows") or {}).values():
        for row in rows:
            for value in row.values():
                add(value)
    return out
