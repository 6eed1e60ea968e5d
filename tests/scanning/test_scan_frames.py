"""FrameScan: a scan request spreads the pipeline over the frames of a call, losing nothing."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.scanning import decode
from app.scanning.decode import FRAME_BUDGET_MS, FrameScan, decode_frame

SCAN = Path(__file__).resolve().parents[1] / "data" / "scan"
CALL_FRAMES = 60


def test_a_call_reads_every_code_a_still_reads():
    for image in sorted(SCAN.glob("*.jpg")) + sorted(SCAN.glob("*.png")):
        frame = cv2.imread(str(image), cv2.IMREAD_COLOR)
        still = {c.text for c in decode_frame(frame)}
        scan = FrameScan()
        seen: set[str] = set()
        for _ in range(CALL_FRAMES):
            seen |= {c.text for c in scan.scan(frame)}
            if still <= seen:
                break
        assert still <= seen, image.name


def test_a_frame_spends_its_budget_and_no_more_than_one_step_beyond(monkeypatch):
    cluttered = cv2.imread(str(SCAN / "qr_cluttered_background.jpg"), cv2.IMREAD_COLOR)
    # Paint the code over: the scene stays cluttered, so every step runs and finds nothing.
    (code,) = decode_frame(cluttered)
    corners = np.array(code.position, np.int32)
    centre = corners.mean(axis=0)
    cv2.fillConvexPoly(cluttered, ((corners - centre) * 1.5 + centre).astype(np.int32), (128,) * 3)
    assert decode_frame(cluttered) == []

    spent: list[list[float]] = []
    run_step = decode._run_step

    def counting(gray, step):
        spent[-1].append(decode._step_cost(step))
        return run_step(gray, step)

    monkeypatch.setattr(decode, "_run_step", counting)
    scan = FrameScan()
    steps = len(decode._schedule(decode.likely_regions(decode.to_gray(cluttered))))
    assert steps > 5  # the scene is cluttered: a full pass would cost many steps
    for _ in range(steps):
        spent.append([])
        assert scan.scan(cluttered) == []
    for costs in spent:
        assert costs, "every frame makes progress"
        assert len(costs) == 1 or sum(costs) <= FRAME_BUDGET_MS
    assert sum(len(costs) for costs in spent) >= steps  # a whole cycle within `steps` frames


@pytest.mark.parametrize("box", [(0, 0, 640, 480), (37, 12, 451, 333), (100, 100, 300, 180)])
def test_upscale_tiles_hold_every_code_small_enough_to_need_upscaling(box):
    tiles = decode._tiles(box)
    size = decode._UPSCALE_TILE // 2  # a code of modules of 1-2 px is at most this wide
    x0, y0, x1, y1 = box
    for x, y in itertools.product(range(x0, x1 - size + 1, 7), range(y0, y1 - size + 1, 7)):
        assert any(
            tx0 <= x and ty0 <= y and x + size <= tx1 and y + size <= ty1
            for tx0, ty0, tx1, ty1 in tiles
        ), (x, y)
    for tx0, ty0, tx1, ty1 in tiles:
        assert (tx1 - tx0) * (ty1 - ty0) / 1e6 * decode._STEP_MS_PER_MP["upscale_sharpen"] <= 4.0


def test_a_hit_leaves_its_place_as_the_next_frames_hint():
    frame = cv2.imread(str(SCAN / "qr_small_far.jpg"), cv2.IMREAD_COLOR)
    scan = FrameScan()
    for _ in range(CALL_FRAMES):
        if scan.scan(frame):
            break
    assert scan.hint is not None
