"""Document stills on synthetic frames: a tilted page is found and straightened."""

from __future__ import annotations

import cv2
import numpy as np

from app.scanning.document import document_still, find_page, order_corners

PAGE_W, PAGE_H = 420, 594  # A4 proportions


def _page() -> np.ndarray:
    """A white A4-shaped page with a black bar at the top and a square near the bottom right."""
    page = np.full((PAGE_H, PAGE_W, 3), 245, np.uint8)
    page[30:70, 30:390] = 0  # title bar
    page[480:560, 300:380] = (0, 0, 200)  # red seal near the bottom right
    return page


def _frame_with_page(corners: np.ndarray) -> np.ndarray:
    """Project the page onto a dark, textured 640×480 background at ``corners``."""
    rng = np.random.default_rng(7)
    background = rng.integers(20, 70, (480, 640, 3), dtype=np.uint8)
    source = np.array(
        [[0, 0], [PAGE_W - 1, 0], [PAGE_W - 1, PAGE_H - 1], [0, PAGE_H - 1]], np.float32
    )
    matrix = cv2.getPerspectiveTransform(source, corners.astype(np.float32))
    warped = cv2.warpPerspective(_page(), matrix, (640, 480))
    mask = cv2.warpPerspective(np.full((PAGE_H, PAGE_W), 255, np.uint8), matrix, (640, 480))
    frame = background.copy()
    frame[mask > 0] = warped[mask > 0]
    return frame


TILTED = np.array([[210, 40], [470, 70], [450, 450], [170, 420]], np.float32)


def test_a_tilted_page_is_found_at_its_corners():
    corners = find_page(_frame_with_page(TILTED))
    assert corners is not None
    assert np.abs(corners - TILTED).max() < 8


def test_the_straightened_page_is_upright_with_its_content_in_place():
    still = document_still(_frame_with_page(TILTED))
    assert still.straightened
    h, w = still.image.shape[:2]
    assert h > w  # portrait, like the page
    # The black title bar is at the top, the red seal at the bottom right.
    top = still.image[int(h * 0.05) : int(h * 0.12), int(w * 0.1) : int(w * 0.9)]
    assert top.mean() < 60
    seal = still.image[int(h * 0.82) : int(h * 0.93), int(w * 0.73) : int(w * 0.88)]
    assert seal[..., 2].mean() > 150 and seal[..., 0].mean() < 80


def test_a_frame_without_a_page_is_kept_as_it_is():
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    frame = cv2.GaussianBlur(frame, (31, 31), 0)
    still = document_still(frame)
    assert not still.straightened
    assert still.image is frame


def test_a_small_card_is_not_taken_for_a_page():
    card = np.array([[300, 200], [360, 205], [358, 245], [298, 240]], np.float32)
    assert find_page(_frame_with_page(card)) is None


def test_corners_are_ordered_whatever_order_they_come_in():
    shuffled = TILTED[[2, 0, 3, 1]]
    assert np.array_equal(order_corners(shuffled), TILTED)
