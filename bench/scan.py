"""Benchmark the frame decoder: decode rate and time per frame on a folder of images.

Usage: ``python bench/scan.py [DIR]`` (default ``tests/data/scan``). Every ``.png``/``.jpg``
in DIR with a same-named ``.txt`` is one case; it counts as decoded when a code's text
equals the file's text exactly. Prints one line per image, then as its last line the JSON
summary (median figures):

- ``images``, ``decoded``, ``rate``, ``ms_per_frame_p50``: the whole pipeline
  (``decode_frame``) over every image;
- ``ms_640x480_p50``: the same, over the 640×480 frames only (the video call's size);
- ``ms_no_code_640x480_p50``: a 640×480 frame with no code in it (every fallback pass runs);
- ``zxing_only_decoded``, ``zxing_only_rate``, ``zxing_only_ms_p50``: zxing-cpp alone with
  its defaults (``read_barcodes(frame)``), for comparison.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.scanning.decode import decode_frame  # noqa: E402

REPEATS = 7


def timed(fn: Callable[[], list[str]]) -> tuple[list[str], list[float]]:
    """Run ``fn`` once to warm up, then REPEATS times; return its texts and the times in ms."""
    texts = fn()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return texts, times


def load_cases(folder: Path) -> list[tuple[str, np.ndarray, str]]:
    """Return (name, BGR frame, expected text) for every image with a .txt beside it."""
    cases = []
    for path in sorted(folder.iterdir()):
        if (
            path.suffix.lower() not in (".png", ".jpg", ".jpeg")
            or not path.with_suffix(".txt").exists()
        ):
            continue
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            raise SystemExit(f"{path}: not an image OpenCV can read")
        expected = path.with_suffix(".txt").read_text(encoding="utf-8").removesuffix("\n")
        cases.append((path.name, frame, expected))
    return cases


def main(argv: list[str]) -> None:
    """Decode every case with the pipeline and with zxing-cpp alone; print the summary."""
    folder = Path(argv[1]) if len(argv) > 1 else Path("tests/data/scan")
    cases = load_cases(folder)
    if not cases:
        raise SystemExit(f"{folder}: no image with a same-named .txt")
    decoded = zx_decoded = 0
    all_ms: list[float] = []
    vga_ms: list[float] = []
    zx_ms: list[float] = []
    empty_ms: list[float] = []
    for name, frame, expected in cases:
        texts, ms = timed(lambda frame=frame: [code.text for code in decode_frame(frame)])
        zx_texts, zms = timed(lambda frame=frame: [b.text for b in zxingcpp.read_barcodes(frame)])
        ok = expected in texts
        zx_ok = expected in zx_texts
        decoded += ok
        zx_decoded += zx_ok
        all_ms += ms
        zx_ms += zms
        if frame.shape[:2] == (480, 640):
            vga_ms += ms
            # The same scene blurred past reading: what a frame without a code costs.
            blank = cv2.GaussianBlur(frame, (0, 0), 8)
            _, ems = timed(lambda blank=blank: [code.text for code in decode_frame(blank)])
            empty_ms += ems
        print(
            f"{name:40} {'ok ' if ok else 'MISS'} zxing-only={'ok ' if zx_ok else 'MISS'} {statistics.median(ms):6.2f} ms"
        )
    n = len(cases)
    summary = {
        "images": n,
        "decoded": decoded,
        "rate": round(decoded / n, 3),
        "ms_per_frame_p50": round(statistics.median(all_ms), 2),
        "ms_640x480_p50": round(statistics.median(vga_ms), 2) if vga_ms else None,
        "ms_no_code_640x480_p50": round(statistics.median(empty_ms), 2) if empty_ms else None,
        "zxing_only_decoded": zx_decoded,
        "zxing_only_rate": round(zx_decoded / n, 3),
        "zxing_only_ms_p50": round(statistics.median(zx_ms), 2),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv)
