"""The likely-region look: plain frames skip the costly steps; codes and hints are searched."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.scanning.decode import decode_frame, likely_regions

SCAN = Path(__file__).resolve().parents[1] / "data" / "scan"


def test_a_plain_frame_has_no_likely_region():
    rng = np.random.default_rng(7)
    wall = cv2.GaussianBlur(rng.integers(90, 160, (480, 640), dtype=np.uint8), (0, 0), 6)
    assert likely_regions(wall) == []
    assert decode_frame(wall) == []


def test_the_look_loses_no_committed_code_the_whole_frame_search_reads():
    for image in sorted(SCAN.glob("*.jpg")):
        frame = cv2.imread(str(image), cv2.IMREAD_COLOR)
        everywhere = {c.text for c in decode_frame(frame, everywhere=True)}
        assert everywhere <= {c.text for c in decode_frame(frame)}, image.name


def test_a_hint_adds_its_region_even_on_a_plain_frame():
    wall = np.full((480, 640), 128, np.uint8)
    hint = ((100, 100), (200, 100), (200, 200), (100, 200))
    ((x0, y0, x1, y1),) = likely_regions(wall, hint)
    assert x0 < 100 and y0 < 100 and x1 > 200 and y1 > 200
