"""Fixtures for the scanning tests: the committed frames, the test signing key, a clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

SCAN_DATA = Path(__file__).resolve().parents[1] / "data" / "scan"
# Must match tests/data/scan/make_images.py: the committed pre-entry frames are signed with it.
TEST_PREENTRY_KEY = b"kakanai-madoguchi-test-only-preentry-key-0001"
# Within the committed pre-entry frames' validity (issued 2026-11-20 01:00 UTC, 14 days).
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def scan_images() -> list[str]:
    """Return the stems of every committed test frame that has an expected text."""
    return sorted(
        p.stem
        for p in SCAN_DATA.iterdir()
        if p.suffix in (".jpg", ".png") and p.with_suffix(".txt").exists()
    )


def load_frame(stem: str) -> tuple[np.ndarray, str]:
    """Return a committed frame (BGR) and the text it must decode to."""
    path = next(p for p in SCAN_DATA.glob(f"{stem}.*") if p.suffix in (".jpg", ".png"))
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert frame is not None, path
    return frame, path.with_suffix(".txt").read_text(encoding="utf-8")


@pytest.fixture
def key() -> bytes:
    return TEST_PREENTRY_KEY


@pytest.fixture
def now() -> datetime:
    return NOW
