"""Decode QR codes and barcodes in one camera frame (an ndarray), fast path first.

The pipeline, in order, stopping at the first pass that finds anything:

1. ``gray``: zxing-cpp's QR-family reader on the whole grayscale frame (reads UTF-8
   Japanese without ECI, Micro QR; ~0.7 ms on 640×480, where its 1-D row scans cost ~3 ms
   more).
2. Only where a code is likely: a cheap look at a quarter-size copy of the frame finds the
   cells dense with strong edges (finder patterns, modules, bars); with a previous hit the
   caller passes its corners and that region is kept too. zxing-cpp with every format,
   pyzbar (for the tilted 1-D codes zxing-cpp misses) and the fallback passes run on
   those regions only, cropped. A frame of the call that shows no code and no clutter
   (a face, a wall) has no such region and costs the first pass alone.
3. The fallback passes: each an OpenCV preprocessing step followed by zxing-cpp. Which
   passes are here was decided by measurement on generated webcam frames and
   ``tests/data/scan`` (``bench/scan.py --passes``, docs/scanning.md); a pass that added
   (almost) nothing was dropped.

Everything is pure: no I/O, no clock, no global state besides the immutable tables below.
zxing-cpp, zbar and OpenCV release the GIL while they work, so a worker thread decoding a
frame does not stall the media server's event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray
from pyzbar import pyzbar

Decoder = Literal["zxing-cpp", "pyzbar"]
GrayImage = NDArray[np.uint8]
Corners = tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]

# The symbologies a counter meets: QR family (My Number card, pre-entry, apps), retail and
# GS1 barcodes (payment slips: コンビニ収納 GS1-128, EAN-13 on goods and books), Codabar
# (NW-7, still on Japanese delivery and library slips), ITF and Code 39. Restricting the
# set keeps zxing-cpp at ~1/3 of its all-formats time on a frame with nothing in it.
ZXING_FORMATS = zxingcpp.BarcodeFormats(
    [
        zxingcpp.BarcodeFormat.QRCode,
        zxingcpp.BarcodeFormat.MicroQRCode,
        zxingcpp.BarcodeFormat.RMQRCode,
        zxingcpp.BarcodeFormat.EAN13,
        zxingcpp.BarcodeFormat.EAN8,
        zxingcpp.BarcodeFormat.UPCA,
        zxingcpp.BarcodeFormat.UPCE,
        zxingcpp.BarcodeFormat.Code128,
        zxingcpp.BarcodeFormat.Code39,
        zxingcpp.BarcodeFormat.ITF,
        zxingcpp.BarcodeFormat.Codabar,
        zxingcpp.BarcodeFormat.DataBar,
        zxingcpp.BarcodeFormat.DataBarExp,
    ]
)

# pyzbar is the second opinion for 1-D codes only: on QR it found nothing zxing-cpp missed
# in our measurements and costs ~4 ms more per empty frame.
PYZBAR_SYMBOLS: tuple[pyzbar.ZBarSymbol, ...] = (
    pyzbar.ZBarSymbol.EAN13,
    pyzbar.ZBarSymbol.EAN8,
    pyzbar.ZBarSymbol.UPCA,
    pyzbar.ZBarSymbol.UPCE,
    pyzbar.ZBarSymbol.CODE128,
    pyzbar.ZBarSymbol.CODE39,
    pyzbar.ZBarSymbol.I25,
    pyzbar.ZBarSymbol.CODABAR,
)

# zbar's type names, mapped onto zxing-cpp's format names so callers see one vocabulary.
_ZBAR_SYMBOLOGY = {
    "QRCODE": "QRCode",
    "EAN13": "EAN13",
    "EAN8": "EAN8",
    "UPCA": "UPCA",
    "UPCE": "UPCE",
    "CODE128": "Code128",
    "CODE39": "Code39",
    "CODE93": "Code93",
    "I25": "ITF",
    "CODABAR": "Codabar",
    "DATABAR": "DataBar",
    "DATABAR_EXP": "DataBarExp",
}

# In a webcam frame a card held at arm's length has QR modules of 1-2 px; doubling the frame
# lets the finder-pattern search lock on. Frames whose longer side is above this (document
# cameras) already have the pixels, and doubling them would cost more than it finds.
_UPSCALE_UP_TO = 1280


@dataclass(frozen=True, slots=True, repr=False)
class DecodedCode:
    """One symbol found in a frame.

    ``text`` is the content as text (GS1 symbols in the human-readable form
    ``(01)04912345678904``); ``raw`` the bytes the decoder gave; ``symbology`` a zxing-cpp
    format name (``QRCode``, ``MicroQRCode``, ``EAN13``, ``Code128`` …); ``position`` the
    four corners in frame pixels (top-left, top-right, bottom-right, bottom-left as the
    decoder saw them); ``decoder`` which library read it; ``stage`` which pass.
    """

    text: str
    raw: bytes
    symbology: str
    gs1: bool
    position: Corners
    decoder: Decoder
    stage: str

    def __repr__(self) -> str:
        # The text may be a My Number or a resident's address: never put it in logs.
        return (
            f"DecodedCode(symbology={self.symbology!r}, decoder={self.decoder!r}, "
            f"stage={self.stage!r}, chars={len(self.text)})"
        )


@dataclass(frozen=True, slots=True)
class _Pass:
    name: str
    prepare: Callable[[GrayImage], GrayImage]
    binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage
    rotated: float = 0.0  # degrees the pass turned the frame (counter-clockwise)


def to_gray(image: NDArray[np.uint8]) -> GrayImage:
    """Return the frame as an 8-bit grayscale image (accepts gray, BGR or BGRA).

    :raises ValueError: the array is not an 8-bit image of one, three or four channels.
    """
    if image.dtype != np.uint8:
        raise ValueError(f"expected an 8-bit image, got dtype {image.dtype}")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)  # type: ignore[return-value]
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)  # type: ignore[return-value]
    raise ValueError(f"expected a gray, BGR or BGRA image, got shape {image.shape}")


def _identity(gray: GrayImage) -> GrayImage:
    return gray


def _upscale(gray: GrayImage) -> GrayImage:
    if max(gray.shape) > _UPSCALE_UP_TO:
        return gray
    return cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)  # type: ignore[return-value]


def _equalise(gray: GrayImage) -> GrayImage:
    clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))
    return clahe.apply(gray)  # type: ignore[return-value]


def _adaptive_threshold(gray: GrayImage) -> GrayImage:
    binary = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 5
    )
    return binary  # type: ignore[return-value]


def _sharpen(gray: GrayImage) -> GrayImage:
    blurred = cv2.GaussianBlur(gray, (0, 0), 2.0)
    return cv2.addWeighted(gray, 2.0, blurred, -1.0, 0)  # type: ignore[return-value]


def _upscale_sharpen(gray: GrayImage) -> GrayImage:
    return _sharpen(_upscale(gray))


def _rotate_45(gray: GrayImage) -> GrayImage:
    # zxing-cpp's 1-D readers scan rows (and columns with try_rotate): a barcode near 45°
    # crosses no scan line whole. Rotating the frame by 45° puts it back near level.
    # Positions from this pass are in the rotated frame; the caller maps them back.
    height, width = gray.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 45, 1.0)
    return cv2.warpAffine(gray, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)  # type: ignore[return-value]


_FIRST_PASS = _Pass("gray", _identity)

# The first pass over the whole frame reads the QR family only; the 1-D formats are read
# in the likely regions, where the bars are.
QR_FORMATS = zxingcpp.BarcodeFormats(
    [
        zxingcpp.BarcodeFormat.QRCode,
        zxingcpp.BarcodeFormat.MicroQRCode,
        zxingcpp.BarcodeFormat.RMQRCode,
    ]
)

# Every candidate pass, by name. ``bench/scan.py --passes DIR`` measures how many images
# each rescues after the first pass; FALLBACK_PASSES is the greedy selection from that.
CANDIDATE_PASSES: dict[str, _Pass] = {
    "sharpen": _Pass("sharpen", _sharpen),
    "upscale_sharpen": _Pass("upscale_sharpen", _upscale_sharpen),
    "rotate_45": _Pass("rotate_45", _rotate_45, rotated=45.0),
    "upscale": _Pass("upscale", _upscale),
    "equalise": _Pass("equalise", _equalise),
    "adaptive_threshold": _Pass("adaptive_threshold", _adaptive_threshold),
    "global_histogram": _Pass("global_histogram", _identity, zxingcpp.Binarizer.GlobalHistogram),
}

# Measured on 300 generated webcam frames (make_images.py --sweep) and on tests/data/scan:
# see docs/scanning.md. Each kept pass rescues frames the earlier ones miss; upscale alone,
# equalise, adaptive threshold and the global-histogram binarizer rescued nothing more
# (or under 1%) and would only slow down the frames that hold no code.
FALLBACK_PASSES: tuple[str, ...] = ("sharpen", "upscale_sharpen", "rotate_45")


# The likely-region look: on a quarter-size frame, a pixel is an edge when its gradient is
# strong; a code lies where edges are dense. Tuned with bench/scan.py on tests/data/scan,
# the zxing photos and their painted-over copies (docs/scanning.md): every code lies in a
# dense region; plain scenes (faces, walls, blurred frames) have none.
_LOOK_SCALE = 4
_EDGE_STRENGTH = 48
_DENSE_CELL = 0.35
_CELL = 6  # cells of 6x6 quarter-size pixels (24x24 in the frame)
_MIN_CELLS = 3  # fewer dense cells are texture (a letter, an eyelash), not a symbol
_MAX_REGIONS = 3
_MARGIN = 24  # frame pixels added around a region, so a code's quiet zone is inside


def likely_regions(gray: GrayImage, hint: Corners | None = None) -> list[tuple[int, int, int, int]]:
    """Return boxes (x0, y0, x1, y1) of the frame where a code is likely, largest first."""
    height, width = gray.shape
    boxes: list[tuple[int, int, int, int]] = []
    if hint is not None:
        xs = [x for x, _ in hint]
        ys = [y for _, y in hint]
        pad = max(max(xs) - min(xs), max(ys) - min(ys)) // 2 + _MARGIN
        box = (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)
        boxes.append(_clip(box, width, height))
    small_w, small_h = width // _LOOK_SCALE, height // _LOOK_SCALE
    if small_w < _CELL or small_h < _CELL:
        return boxes or [(0, 0, width, height)]
    small = cv2.resize(gray, (small_w, small_h), interpolation=cv2.INTER_AREA)
    gx = cv2.Sobel(small, cv2.CV_16S, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_16S, 0, 1, ksize=3)
    edges = ((np.abs(gx) + np.abs(gy)) > _EDGE_STRENGTH * 4).astype(np.uint8)
    rows, cols = small_h // _CELL, small_w // _CELL
    grid = edges[: rows * _CELL, : cols * _CELL].reshape(rows, _CELL, cols, _CELL)
    dense = (grid.mean(axis=(1, 3)) >= _DENSE_CELL).astype(np.uint8)
    if not dense.any():
        return boxes
    count, _, stats, _ = cv2.connectedComponentsWithStats(dense, connectivity=8)
    found = []
    step = _CELL * _LOOK_SCALE
    for left, top, w, h, area in stats[1:count]:
        if area < _MIN_CELLS:
            continue
        box = (
            left * step - _MARGIN,
            top * step - _MARGIN,
            (left + w) * step + _MARGIN,
            (top + h) * step + _MARGIN,
        )
        found.append((int(area), _clip(box, width, height)))
    boxes += [box for _, box in sorted(found, reverse=True)[:_MAX_REGIONS]]
    return boxes


def _clip(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return max(0, int(x0)), max(0, int(y0)), min(width, int(x1)), min(height, int(y1))


def _shift(codes: list[DecodedCode], x0: int, y0: int) -> list[DecodedCode]:
    if not x0 and not y0:
        return codes
    return [
        replace(c, position=tuple((x + x0, y + y0) for x, y in c.position))  # type: ignore[arg-type]
        for c in codes
    ]


def decode_frame(
    image: NDArray[np.uint8],
    *,
    fallback: bool = True,
    passes: Sequence[str] | None = None,
    use_pyzbar: bool = True,
    hint: Corners | None = None,
    everywhere: bool = False,
) -> list[DecodedCode]:
    """Decode every QR code and barcode in a frame; empty when there is none.

    ``fallback=False`` skips the fallback passes (for callers that poll many frames and
    can afford to miss a hard one); ``hint`` is where the previous frame had a code (its
    region is searched even if it looks plain now); ``everywhere`` searches the whole
    frame with every step, as before the likely-region look (for the benchmark);
    ``passes`` and ``use_pyzbar`` exist for the benchmark to measure what each step adds.

    :raises ValueError: the array is not an 8-bit gray, BGR or BGRA image.
    """
    gray = to_gray(image)
    height, width = gray.shape
    regions = [(0, 0, width, height)] if everywhere else likely_regions(gray, hint)
    whole = regions == [(0, 0, width, height)]
    found = _read_zxing(gray, _FIRST_PASS, gray.shape, None if whole else QR_FORMATS)
    if found:
        return found
    for x0, y0, x1, y1 in regions:
        crop = gray[y0:y1, x0:x1]
        if crop.shape[0] < 8 or crop.shape[1] < 8:
            continue
        if not whole:
            found = _shift(_read_zxing(crop, _FIRST_PASS, crop.shape), x0, y0)
            if found:
                return found
        if use_pyzbar:
            found = _shift(_read_pyzbar(crop), x0, y0)
            if found:
                return found
        if not fallback:
            continue
        for name in FALLBACK_PASSES if passes is None else passes:
            step = CANDIDATE_PASSES[name]
            found = _read_zxing(step.prepare(crop), step, crop.shape)
            if found:
                return _shift(found, x0, y0)
    return []


# What each step costs, in ms per megapixel of the crop it reads: medians over the likely
# regions of tests/data/scan's painted-over frames on the 2-core counter machine. They are
# the estimate FrameScan spends its per-frame budget by; a faster machine finishes a cycle
# in as many frames, each cheaper.
_STEP_MS_PER_MP = {
    "zxing": 13.0,  # every counter format, 1x
    "pyzbar": 31.0,
    "sharpen": 22.0,
    "upscale_sharpen": 111.0,
    "rotate_45": 19.0,
}
FRAME_BUDGET_MS = 2.5  # besides the first pass and the look (~0.7 ms on 640x480)
# Upscaling helps only a code whose modules are 1-2 px, i.e. one at most ~90 px across
# (a QR of up to 33 modules plus its quiet zone): tiles of twice that, overlapping by
# half, each hold every such code whole, and each fits the frame budget.
_UPSCALE_TILE = 176


@dataclass(frozen=True, slots=True)
class _Step:
    box: tuple[int, int, int, int]  # the crop it reads: a likely region, or one of its tiles
    name: str  # "zxing", "pyzbar" or a fallback pass


class FrameScan:
    """One scan of a live video: each frame costs a bounded slice of the full pipeline.

    A frame of a call that shows no code is the common case, and the full fallback
    pipeline on a cluttered scene costs 20-60 ms of CPU per frame. A scan request looks
    at successive frames of a scene that changes little, so the work is spread over
    them: every frame gets the QR pass on the whole frame and the look, then the next
    steps of the likely-region pipeline (1-D readers, fallback passes, region by region)
    until FRAME_BUDGET_MS of estimated work is spent, resuming on the next frame where
    it stopped. After one cycle every step has run once, as in ``decode_frame``. The
    budget is estimated from crop sizes (no clock is read: the scan stays pure and the
    same frames give the same work). Not thread-safe: one scan request owns one.
    """

    def __init__(self, budget_ms: float = FRAME_BUDGET_MS) -> None:
        self.budget_ms = budget_ms
        self._cursor = 0
        self.frames = 0
        self.hint: Corners | None = None

    def scan(self, image: NDArray[np.uint8]) -> list[DecodedCode]:
        """Look at the next frame; return the codes found in it (empty if none yet).

        :raises ValueError: the array is not an 8-bit gray, BGR or BGRA image.
        """
        self.frames += 1
        gray = to_gray(image)
        found = _read_zxing(gray, _FIRST_PASS, gray.shape, QR_FORMATS)
        if found:
            self.hint = found[0].position
            return found
        regions = likely_regions(gray, self.hint)
        steps = _schedule(regions)
        if not steps:
            return []
        spent = 0.0
        for _ in range(len(steps)):
            step = steps[self._cursor % len(steps)]
            cost = _step_cost(step)
            if spent and spent + cost > self.budget_ms:
                break
            self._cursor = (self._cursor + 1) % len(steps)
            spent += cost
            found = _run_step(gray, step)
            if found:
                self.hint = found[0].position
                return found
        return []


def _tiles(box: tuple[int, int, int, int]) -> list[tuple[int, int, int, int]]:
    x0, y0, x1, y1 = box
    if (x1 - x0) * (y1 - y0) <= _UPSCALE_TILE * _UPSCALE_TILE:
        return [box]
    stride = _UPSCALE_TILE // 2

    def starts(lo: int, hi: int) -> list[int]:
        if hi - lo <= _UPSCALE_TILE:
            return [lo]
        last = hi - _UPSCALE_TILE
        return list(range(lo, last, stride)) + [last]

    return [
        (x, y, min(x1, x + _UPSCALE_TILE), min(y1, y + _UPSCALE_TILE))
        for y in starts(y0, y1)
        for x in starts(x0, x1)
    ]


def _schedule(regions: list[tuple[int, int, int, int]]) -> list[_Step]:
    steps = []
    for box in regions:
        steps.append(_Step(box, "zxing"))
        steps.append(_Step(box, "pyzbar"))
        for name in FALLBACK_PASSES:
            tiles = _tiles(box) if name == "upscale_sharpen" else [box]
            steps += [_Step(tile, name) for tile in tiles]
    return steps


def _step_cost(step: _Step) -> float:
    x0, y0, x1, y1 = step.box
    return (x1 - x0) * (y1 - y0) / 1e6 * _STEP_MS_PER_MP[step.name]


def _run_step(gray: GrayImage, step: _Step) -> list[DecodedCode]:
    x0, y0, x1, y1 = step.box
    crop = gray[y0:y1, x0:x1]
    if crop.shape[0] < 8 or crop.shape[1] < 8:
        return []
    if step.name == "zxing":
        found = _read_zxing(crop, _FIRST_PASS, crop.shape)
    elif step.name == "pyzbar":
        found = _read_pyzbar(crop)
    else:
        pass_ = CANDIDATE_PASSES[step.name]
        found = _read_zxing(pass_.prepare(crop), pass_, crop.shape)
    return _shift(found, x0, y0)


def _read_zxing(
    prepared: GrayImage,
    step: _Pass,
    shape: tuple[int, ...],
    formats: zxingcpp.BarcodeFormats | None = None,
) -> list[DecodedCode]:
    barcodes = zxingcpp.read_barcodes(
        prepared, formats=ZXING_FORMATS if formats is None else formats, binarizer=step.binarizer
    )
    if not barcodes:
        return []
    # Map corners back to the caller's frame: undo the scaling, then the rotation.
    scale = prepared.shape[1] / shape[1]
    height, width = shape[0], shape[1]
    back = cv2.getRotationMatrix2D((width / 2, height / 2), -step.rotated, 1.0)
    codes = []
    for barcode in barcodes:
        pos = barcode.position
        points = np.array(
            [
                [point.x / scale, point.y / scale, 1.0]
                for point in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)
            ]
        )
        mapped = points @ back.T
        corners = tuple((round(x), round(y)) for x, y in mapped)
        codes.append(
            DecodedCode(
                text=barcode.text,
                raw=bytes(barcode.bytes),
                symbology=barcode.format.name,
                gs1=barcode.content_type == zxingcpp.ContentType.GS1,
                position=corners,  # type: ignore[arg-type]
                decoder="zxing-cpp",
                stage=step.name,
            )
        )
    return codes


def _read_pyzbar(gray: GrayImage) -> list[DecodedCode]:
    codes = []
    for symbol in pyzbar.decode(gray, symbols=PYZBAR_SYMBOLS):
        left, top, width, height = symbol.rect
        corners = (
            (left, top),
            (left + width, top),
            (left + width, top + height),
            (left, top + height),
        )
        codes.append(
            DecodedCode(
                # zbar hands back text it already transcoded to UTF-8.
                text=symbol.data.decode("utf-8", errors="replace"),
                raw=bytes(symbol.data),
                symbology=_ZBAR_SYMBOLOGY.get(symbol.type, symbol.type),
                gs1=False,
                position=corners,
                decoder="pyzbar",
                stage="gray",
            )
        )
    return codes
