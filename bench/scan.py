"""Benchmark the frame decoder: decode rate and time per frame on a folder of images.

Usage: ``python bench/scan.py [DIR]`` (default ``tests/data/scan``), or
``python bench/scan.py --passes [DIR]`` to measure what each candidate fallback pass adds. Every ``.png``/``.jpg``
in DIR with a same-named ``.txt`` is one case; it counts as decoded when a code's text
equals the file's text exactly. Prints one line per image, then as its last line the JSON
summary (median figures):

- ``images``, ``decoded``, ``rate``, ``ms_per_frame_p50``: the whole pipeline on one
  still (``decode_frame``, as for an uploaded photo) over every image;
- ``ms_640x480_p50``: the same, over the 640×480 frames only (the video call's size);
- the call (``FrameScan``: each frame of a scan request gets the QR pass, the look and a
  bounded slice of the rest, resuming on the next frame), each image shown as a still
  scene for up to CALL_FRAMES frames: ``call_decoded`` (read within them),
  ``call_frames_to_decode_p50``/``_max``; ``ms_with_code_640x480_p50``: per-frame cost
  over the frames of a 640×480 scene with a code until it reads;
  ``ms_no_code_640x480_p50``/``_p95`` (and ``cpu_ms_no_code_640x480_p50``, CPU time of
  the decoding thread, what an idle machine would show): per-frame cost of the same
  scenes with their codes painted over, over CALL_FRAMES frames — the frame a call
  shows most of the time, with the room, the hand and the clutter kept;
- ``ms_no_code_640x480_still_p50``: those painted-over frames through ``decode_frame``
  (every fallback pass in one go), ``ms_no_code_640x480_everywhere_p50``: the same with
  pyzbar and every fallback run on the whole frame (the pipeline before the
  likely-region look);
- ``zxing_only_decoded``, ``zxing_only_rate``, ``zxing_only_ms_p50``: zxing-cpp alone with
  its defaults (``read_barcodes(frame)``), for comparison;
- ``photos``: the same figures on the real photographs of ``../shared/data/qr-photos``
  (zxing's black-box set, not in the repository; ``QR_PHOTOS`` names another folder), or
  ``{"absent": PATH}`` when the folder is not there;
- ``load_average``: the machine's 1-minute load when the run ended (quote it with figures).

Texts are compared with line endings normalised (``\r\n`` and ``\r`` as ``\n``) and the
trailing newline of the ``.txt`` dropped.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.scanning.decode import CANDIDATE_PASSES, FrameScan, decode_frame  # noqa: E402

REPEATS = 7
CALL_FRAMES = 60  # 2 s of a 30 fps call: what a scan request waits at most (3 s timeout)
PHOTOS = Path(
    os.environ.get("QR_PHOTOS", Path(__file__).resolve().parents[2] / "shared/data/qr-photos")
)


def normalised(text: str) -> str:
    """Return the text with line endings as ``\n`` and no trailing newline."""
    return text.replace("\r\n", "\n").replace("\r", "\n").removesuffix("\n")


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
        raw = path.with_suffix(".txt").read_bytes().decode("utf-8", errors="replace")
        expected = normalised(raw)
        cases.append((path.name, frame, expected))
    return cases


def call_scan(frame: np.ndarray, expected: str | None) -> tuple[int | None, list[float], list[float]]:
    """Show the frame to a FrameScan as a still scene for CALL_FRAMES frames.

    Returns the frame number the expected text was read on (None: not read; with
    ``expected=None`` every frame is shown), and the wall and CPU ms of each frame shown.
    """
    scan = FrameScan()
    wall: list[float] = []
    cpu: list[float] = []
    for number in range(1, CALL_FRAMES + 1):
        start, start_cpu = time.perf_counter(), time.thread_time()
        texts = [normalised(c.text) for c in scan.scan(frame)]
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        if expected is not None and expected in texts:
            return number, wall, cpu
    return None, wall, cpu


def measure_passes(cases: list[tuple[str, np.ndarray, str]]) -> None:
    """Print, for the frames the first pass misses, what each candidate pass rescues alone,
    its median cost, and the greedy order in which passes add the most (last line, JSON)."""
    missed = [
        (name, frame, expected)
        for name, frame, expected in cases
        if expected not in [c.text for c in decode_frame(frame, fallback=False)]
    ]
    rescued: dict[str, set[str]] = {}
    for pass_name in CANDIDATE_PASSES:
        rescued[pass_name] = set()
        times = []
        for name, frame, expected in missed:
            start = time.perf_counter()
            codes = decode_frame(frame, passes=[pass_name], use_pyzbar=False)
            times.append((time.perf_counter() - start) * 1000)
            if expected in [c.text for c in codes if c.stage == pass_name]:
                rescued[pass_name].add(name)
        cost = statistics.median(times) if times else 0.0
        print(
            f"{pass_name:20} rescues {len(rescued[pass_name]):4d} of {len(missed)}  {cost:6.2f} ms (first pass included)"
        )
    left = {name for name, _, _ in missed}
    greedy = []
    while left:
        best = max(rescued, key=lambda p: len(rescued[p] & left))
        gain = len(rescued[best] & left)
        if not gain:
            break
        greedy.append([best, gain])
        left -= rescued[best]
    print(
        json.dumps(
            {
                "images": len(cases),
                "first_pass_misses": len(missed),
                "greedy": greedy,
                "still_missed": len(left),
            }
        )
    )


def without_codes(frame: np.ndarray) -> np.ndarray | None:
    """Return the same scene with every code painted over, or None if one still reads.

    What a frame without a code costs (every fallback pass runs) depends on the scene:
    this keeps the room, the hand, the clutter, and removes only the symbols.
    """
    blank = frame.copy()
    for code in decode_frame(frame):
        corners = np.array(code.position, np.float32)
        centre = corners.mean(axis=0)
        grown = (centre + (corners - centre) * 1.4).astype(np.int32)
        fill = tuple(int(c) for c in np.median(frame.reshape(-1, frame.shape[2]), axis=0))
        cv2.fillConvexPoly(blank, grown, fill)
    return None if decode_frame(blank) else blank


def summarise(cases: list[tuple[str, np.ndarray, str]], *, verbose: bool) -> dict[str, object]:
    """Decode every case with the pipeline and with zxing-cpp alone; return the figures."""
    decoded = zx_decoded = 0
    all_ms: list[float] = []
    vga_ms: list[float] = []
    zx_ms: list[float] = []
    empty_ms: list[float] = []
    everywhere_ms: list[float] = []
    call_decoded = 0
    call_frames: list[int] = []
    call_code_ms: list[float] = []
    call_empty_ms: list[float] = []
    call_empty_cpu: list[float] = []
    for name, frame, expected in cases:
        texts, ms = timed(lambda frame=frame: [normalised(c.text) for c in decode_frame(frame)])
        zx_texts, zms = timed(
            lambda frame=frame: [normalised(b.text) for b in zxingcpp.read_barcodes(frame)]
        )
        ok = expected in texts
        zx_ok = expected in zx_texts
        decoded += ok
        zx_decoded += zx_ok
        read_on, call_ms, _ = call_scan(frame, expected)
        if read_on is not None:
            call_decoded += 1
            call_frames.append(read_on)
        all_ms += ms
        zx_ms += zms
        if frame.shape[:2] == (480, 640):
            vga_ms += ms
            call_code_ms += call_ms
            blank = without_codes(frame)
            if blank is not None:
                _, blank_ms, blank_cpu = call_scan(blank, None)
                call_empty_ms += blank_ms
                call_empty_cpu += blank_cpu
                _, ems = timed(lambda blank=blank: [c.text for c in decode_frame(blank)])
                empty_ms += ems
                _, wms = timed(
                    lambda blank=blank: [c.text for c in decode_frame(blank, everywhere=True)]
                )
                everywhere_ms += wms
        if verbose:
            print(
                f"{name:40} {'ok ' if ok else 'MISS'} zxing-only={'ok ' if zx_ok else 'MISS'} {statistics.median(ms):6.2f} ms"
            )
    n = len(cases)

    def p50(values: list[float]) -> float | None:
        return round(statistics.median(values), 2) if values else None

    def p95(values: list[float]) -> float | None:
        return round(sorted(values)[int(len(values) * 0.95)], 2) if values else None

    return {
        "images": n,
        "decoded": decoded,
        "rate": round(decoded / n, 3),
        "ms_per_frame_p50": p50(all_ms),
        "ms_640x480_p50": p50(vga_ms),
        "call_decoded": call_decoded,
        "call_frames_to_decode_p50": p50([float(f) for f in call_frames]),
        "call_frames_to_decode_max": max(call_frames, default=None),
        "ms_with_code_640x480_p50": p50(call_code_ms),
        "ms_no_code_640x480_p50": p50(call_empty_ms),
        "ms_no_code_640x480_p95": p95(call_empty_ms),
        "cpu_ms_no_code_640x480_p50": p50(call_empty_cpu),
        "ms_no_code_640x480_still_p50": p50(empty_ms),
        "ms_no_code_640x480_everywhere_p50": p50(everywhere_ms),
        "zxing_only_decoded": zx_decoded,
        "zxing_only_rate": round(zx_decoded / n, 3),
        "zxing_only_ms_p50": p50(zx_ms),
    }


def main(argv: list[str]) -> None:
    """Print the figures for DIR (default tests/data/scan) and the real photos, as JSON last."""
    args = [a for a in argv[1:] if a != "--passes"]
    folder = Path(args[0]) if args else Path("tests/data/scan")
    cases = load_cases(folder)
    if "--passes" in argv and cases:
        measure_passes(cases)
        return
    if not cases:
        raise SystemExit(f"{folder}: no image with a same-named .txt")
    summary = summarise(cases, verbose=True)
    if PHOTOS.is_dir() and PHOTOS.resolve() != folder.resolve():
        photos = load_cases(PHOTOS)
        summary["photos"] = summarise(photos, verbose=False) if photos else {"absent": str(PHOTOS)}
    elif not PHOTOS.is_dir():
        print(f"{PHOTOS}: not here; the real-photo figures are left out", file=sys.stderr)
        summary["photos"] = {"absent": str(PHOTOS)}
    summary["load_average"] = round(os.getloadavg()[0], 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv)
