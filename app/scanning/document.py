"""Document stills: find a page held up to the camera and straighten it (perspective).

Staff take a still of a document the resident holds to the camera (or lays under a booth's
document camera). When the page's outline is found — the largest convex four-sided
contour covering enough of the frame — it is warped to a flat, upright rectangle with the
page's own aspect ratio; otherwise the frame is kept as it is. Pure: ndarray in, ndarray
out.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]
Quad = NDArray[np.float32]  # 4×2 corners: top-left, top-right, bottom-right, bottom-left

# A page covering less than this share of the frame is more likely a label, a card or noise.
MIN_PAGE_AREA = 0.15
# Polygon approximation tolerance, as a share of the contour's perimeter.
APPROX_EPSILON = 0.02
# Output is capped so a still stays a few hundred kB as JPEG.
MAX_SIDE = 1600


@dataclass(frozen=True, slots=True)
class Still:
    """A document still: the image to keep and the page corners found (None: not found)."""

    image: Image
    corners: Quad | None

    @property
    def straightened(self) -> bool:
        """Tell whether a page outline was found and the image perspective-corrected."""
        return self.corners is not None


def order_corners(points: NDArray[np.float32]) -> Quad:
    """Return four points ordered top-left, top-right, bottom-right, bottom-left."""
    pts = points.reshape(4, 2).astype(np.float32)
    total = pts.sum(axis=1)
    diff = np.diff(pts, axis=1).ravel()  # y - x
    return np.array(
        [pts[np.argmin(total)], pts[np.argmin(diff)], pts[np.argmax(total)], pts[np.argmax(diff)]],
        dtype=np.float32,
    )


def find_page(image: Image) -> Quad | None:
    """Return the corners of the largest page-like quadrilateral in a BGR frame, or None."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    blurred = cv2.GaussianBlur(gray, (5, 5), 0)
    edges = cv2.Canny(blurred, 50, 150)
    # Close small gaps in the outline (fingers holding the page, a shadowed edge).
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8), iterations=2)
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    frame_area = float(gray.shape[0] * gray.shape[1])
    best: Quad | None = None
    best_area = MIN_PAGE_AREA * frame_area
    for contour in contours:
        hull = cv2.convexHull(contour)
        approx = cv2.approxPolyDP(hull, APPROX_EPSILON * cv2.arcLength(hull, True), True)
        if len(approx) != 4:
            continue
        area = float(cv2.contourArea(approx))
        # A quad that is the whole frame is the frame's border, not a page.
        if best_area < area < 0.98 * frame_area:
            best, best_area = order_corners(approx.astype(np.float32)), area
    return best


def straighten(image: Image, corners: Quad) -> Image:
    """Warp the quadrilateral ``corners`` of ``image`` to an upright rectangle."""
    tl, tr, br, bl = corners
    width = max(float(np.linalg.norm(tr - tl)), float(np.linalg.norm(br - bl)))
    height = max(float(np.linalg.norm(bl - tl)), float(np.linalg.norm(br - tr)))
    scale = min(1.0, MAX_SIDE / max(width, height))
    w, h = max(int(round(width * scale)), 1), max(int(round(height * scale)), 1)
    target = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    warped = cv2.warpPerspective(image, matrix, (w, h), flags=cv2.INTER_CUBIC)
    return np.asarray(warped, dtype=np.uint8)


def document_still(image: Image) -> Still:
    """Return the still to keep: the page straightened when its outline is found."""
    corners = find_page(image)
    if corners is None:
        return Still(image, None)
    return Still(straighten(image, corners), corners)
