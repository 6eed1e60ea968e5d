"""Generate the scanner test images: camera-like frames with a known code in each.

Run from the repository root: ``python tests/data/scan/make_images.py``. The output is
deterministic (fixed seeds, fixed clock, fixed test key) and committed; each image gets a
same-named ``.txt`` with the exact text a decoder must return.

Each frame is built like a webcam shot: a symbol rendered from its real encoder (segno for
QR and Micro QR, zxing-cpp's writer for EAN-13, GS1-128 and Code 128), printed on paper, a
card or a phone screen, placed in a scene with a perspective transform, then lit unevenly,
blurred by the lens, given sensor noise and JPEG-compressed like a video frame.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import segno
import zxingcpp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from app.scanning.preentry import PreEntry, make_preentry_qr, sign_preentry  # noqa: E402

# Shared with tests/scanning/conftest.py: a test image signed with another key would be
# rejected there, so drift between the two is caught.
TEST_PREENTRY_KEY = b"kakanai-madoguchi-test-only-preentry-key-0001"
ISSUED_AT = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
VALIDITY = timedelta(days=14)

W, H = 640, 480
Image = np.ndarray
Quad = np.ndarray


# ---- symbols ----------------------------------------------------------------------------


def qr_symbol(qr: segno.QRCode, module_px: float) -> Image:
    """Render a segno symbol (with its quiet zone) at a fractional module size."""
    border = 2 if qr.is_micro else 4
    modules = np.array(qr.matrix, dtype=np.uint8)
    modules = np.pad(modules, border)
    img = np.where(modules == 1, 20, 235).astype(np.uint8)  # printed ink is never pure black
    size = round(modules.shape[0] * module_px)
    big = np.kron(img, np.ones((8, 8), np.uint8))
    return cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)


def linear_symbol(
    content: str, fmt: zxingcpp.BarcodeFormat, width: int, height: int, gs1: bool = False
) -> Image:
    """Render a 1-D barcode from zxing-cpp's writer at a given size."""
    kwargs = {"gs1": True} if gs1 else {}
    barcode = zxingcpp.create_barcode(content, fmt, **kwargs)
    img = np.array(barcode.to_image(scale=4, add_quiet_zones=True))
    row = img[img.shape[0] // 2]
    bars = np.tile(row, (8, 1))
    bars = np.where(bars < 128, 25, 235).astype(np.uint8)
    return cv2.resize(bars, (width, height), interpolation=cv2.INTER_AREA)


def ean13(body12: str) -> str:
    """Return the 13 digits of an EAN-13 (JAN) code with its check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


# ---- supports: paper, card, phone -------------------------------------------------------


def on_paper(
    symbol: Image, pad: int, rng: np.random.Generator, lines: int = 0, tint=(238, 240, 242)
) -> Image:
    """Put a symbol on a sheet with some printed text lines (dark bars) around it."""
    h, w = symbol.shape[:2]
    sheet = np.zeros((h + 2 * pad + lines * 14, w + 2 * pad, 3), np.uint8)
    sheet[:] = tint
    sheet[pad : pad + h, pad : pad + w] = cv2.cvtColor(symbol, cv2.COLOR_GRAY2BGR)
    for i in range(lines):
        y = h + pad + 6 + i * 14
        length = int(rng.integers(w // 3, w + pad))
        cv2.rectangle(
            sheet, (pad, y), (min(pad + length, sheet.shape[1] - 4), y + 6), (70, 70, 70), -1
        )
    return sheet


def my_number_card(number: str, rng: np.random.Generator) -> Image:
    """Draw the back of a マイナンバーカード: the 12 digits printed and their QR (numeric)."""
    card = np.zeros((270, 428, 3), np.uint8)
    card[:] = (225, 222, 238)  # the card's pale pink-grey
    cv2.rectangle(card, (0, 0), (427, 36), (200, 170, 210), -1)
    cv2.putText(
        card, "KOJIN BANGO", (14, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (60, 40, 60), 1, cv2.LINE_AA
    )
    spaced = f"{number[:4]} {number[4:8]} {number[8:]}"
    cv2.putText(card, spaced, (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (30, 30, 30), 2, cv2.LINE_AA)
    qr = segno.make_qr(number, error="m")
    symbol = qr_symbol(qr, 4.0)
    s = symbol.shape[0]
    card[150 - s // 2 : 150 - s // 2 + s, 300 - s // 2 : 300 - s // 2 + s] = cv2.cvtColor(
        symbol, cv2.COLOR_GRAY2BGR
    )
    for i in range(4):  # name, birth date: text-like bars
        y = 110 + i * 30
        cv2.rectangle(card, (20, y), (20 + int(rng.integers(120, 200)), y + 10), (90, 90, 90), -1)
    cv2.circle(card, (60, 230), 18, (160, 160, 90), -1)  # the IC chip contacts
    return card


def phone_screen(symbol: Image, dark_mode: bool = False) -> Image:
    """Put a symbol on a phone screen: a black body, a lit screen, the QR in the middle."""
    s = symbol.shape[0]
    body = np.zeros((int(s * 2.0), int(s * 1.15), 3), np.uint8)
    body[:] = (25, 25, 28)
    screen_bg = 30 if dark_mode else 250
    m = max(6, s // 30)
    body[m * 3 : -m * 3, m:-m] = screen_bg
    y0 = (body.shape[0] - s) // 2
    x0 = (body.shape[1] - s) // 2
    patch = 255 - symbol if dark_mode else symbol
    body[y0 : y0 + s, x0 : x0 + s] = cv2.cvtColor(patch, cv2.COLOR_GRAY2BGR)
    return body


# ---- scenes and the camera --------------------------------------------------------------


def plain_background(shade: int, rng: np.random.Generator) -> Image:
    """A desk or wall: a soft gradient with slight texture."""
    y, x = np.mgrid[0:H, 0:W]
    base = shade + 25 * (x / W - 0.5) + 15 * (y / H - 0.5)
    texture = cv2.GaussianBlur(rng.normal(0, 6, (H, W)), (0, 0), 3)
    gray = np.clip(base + texture, 0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def cluttered_background(rng: np.random.Generator) -> Image:
    """A room behind the resident: shelves, posters, text, edges that look like finder patterns."""
    img = plain_background(120, rng)
    for _ in range(40):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        x, y = int(rng.integers(0, W)), int(rng.integers(0, H))
        kind = rng.integers(0, 4)
        if kind == 0:
            cv2.rectangle(
                img,
                (x, y),
                (x + int(rng.integers(10, 120)), y + int(rng.integers(10, 90))),
                colour,
                -1,
            )
        elif kind == 1:
            cv2.circle(img, (x, y), int(rng.integers(5, 40)), colour, int(rng.integers(-1, 4)))
        elif kind == 2:
            cv2.line(
                img,
                (x, y),
                (int(rng.integers(0, W)), int(rng.integers(0, H))),
                colour,
                int(rng.integers(1, 5)),
            )
        else:
            words = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(3, 10))))
            cv2.putText(
                img,
                words,
                (x, y),
                cv2.FONT_HERSHEY_SIMPLEX,
                float(rng.uniform(0.4, 1.4)),
                colour,
                2,
            )
    for _ in range(6):  # nested squares: false finder-pattern candidates
        x, y, s = (
            int(rng.integers(0, W - 40)),
            int(rng.integers(0, H - 40)),
            int(rng.integers(8, 30)),
        )
        cv2.rectangle(img, (x, y), (x + s, y + s), (10, 10, 10), -1)
        cv2.rectangle(
            img, (x + s // 7, y + s // 7), (x + s - s // 7, y + s - s // 7), (240, 240, 240), -1
        )
        cv2.rectangle(
            img,
            (x + 2 * s // 7, y + 2 * s // 7),
            (x + s - 2 * s // 7, y + s - 2 * s // 7),
            (10, 10, 10),
            -1,
        )
    return img


def pose(
    patch: Image,
    centre: tuple[float, float],
    width: float,
    angle: float = 0.0,
    tilt: tuple[float, float] = (0.0, 0.0),
) -> Quad:
    """Return where a patch's corners land: scaled to ``width``, rotated, and tilted away.

    ``tilt`` (x, y) shrinks the right (x > 0) or bottom (y > 0) edge, as when a card is
    turned away from the camera.
    """
    h, w = patch.shape[:2]
    scale = width / w
    hw, hh = w * scale / 2, h * scale / 2
    tx, ty = tilt
    corners = np.array(
        [
            [-hw * (1 + ty / 2), -hh * (1 + tx / 2)],
            [hw * (1 + ty / 2), -hh * (1 - tx / 2)],
            [hw * (1 - ty / 2), hh * (1 - tx / 2)],
            [-hw * (1 - ty / 2), hh * (1 + tx / 2)],
        ]
    )
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (corners @ rot.T + np.array(centre)).astype(np.float32)


def place(scene: Image, patch: Image, quad: Quad) -> Image:
    """Warp a patch onto the scene at the given corners."""
    h, w = patch.shape[:2]
    # Shrink first with area averaging so the warp does not alias fine modules.
    target = float(np.linalg.norm(quad[1] - quad[0]))
    if target < w * 0.8:
        f = target / w
        patch = cv2.resize(
            patch, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA
        )
        h, w = patch.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, quad)
    out_h, out_w = scene.shape[:2]
    warped = cv2.warpPerspective(patch, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(
        np.full((h, w), 255, np.uint8), matrix, (out_w, out_h), flags=cv2.INTER_LINEAR
    )
    alpha = (mask.astype(np.float32) / 255.0)[:, :, None]
    return (warped * alpha + scene * (1 - alpha)).astype(np.uint8)


def camera(
    scene: Image,
    rng: np.random.Generator,
    *,
    blur: float = 0.7,
    noise: float = 2.5,
    light: tuple[float, float] = (1.0, 0.85),
    motion: int = 0,
    glare: tuple[int, int, int] | None = None,
    contrast: float = 1.0,
) -> Image:
    """Shoot a scene like a webcam: uneven light, optional glare, lens and motion blur, noise."""
    img = scene.astype(np.float32)
    h, w = img.shape[:2]
    ramp = np.linspace(light[0], light[1], w, dtype=np.float32)[None, :, None]
    img = (img - 128) * contrast + 128
    img = img * ramp
    if glare is not None:
        gx, gy, radius = glare
        y, x = np.mgrid[0:h, 0:w]
        spot = np.exp(-(((x - gx) ** 2 + (y - gy) ** 2) / (2.0 * radius**2))).astype(np.float32)
        img = img + 230 * spot[:, :, None]
    if motion:
        kernel = np.zeros((motion, motion), np.float32)
        kernel[motion // 2, :] = 1.0 / motion
        img = cv2.filter2D(img, -1, kernel)
    if blur:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    img = img + rng.normal(0, noise, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


# ---- the images -------------------------------------------------------------------------


def preentry_text(name: str = "山田 太郎") -> str:
    """Sign a pre-entry such as the public page would."""
    entry = PreEntry(
        event="move_in",
        name=name,
        name_kana="やまだ たろう",
        birth_date=date(1958, 3, 2),
        address="東京都みどり市本町一丁目2番3号 みどりハイツ101",
        postal_code="198-0001",
        phone="090-1234-5678",
        old_address="神奈川県横浜市中区山下町1番地",
    )
    return sign_preentry(entry, TEST_PREENTRY_KEY, ISSUED_AT, VALIDITY)


def tamper(text: str) -> str:
    """Alter the signed content the way a forger would: change the name, keep the tag."""
    return text.replace("山田 太郎", "山田 次郎", 1)


JA_PLAIN = "事前相談メモ：山田 太郎 様（ヤマダ タロウ）東京都みどり市本町一丁目2番3号"
JA_ECI = "おくやみ窓口 予約番号 A-0427 令和8年12月1日 10時30分 市民課1番窓口"
JA_KANJI = "みどり市役所 市民課 窓口案内"
MY_NUMBER_OK = "123456789018"  # body 12345678901 -> check digit 8 (REFERENCE.md)
MY_NUMBER_BAD = "123456789013"
PAYMENT_SLIP = "(91)9" + "12345" + "678901234567890123456789012345678901"
PRODUCT_JAN = ean13("490123456789")


def scene_qr_paper(
    text: str, *, module_px: float = 4.0, encoding: str | None = "utf-8", eci: bool = False, **shot
) -> Callable[[np.random.Generator], Image]:
    """A QR printed on a sheet, held up in front of a plain wall."""

    def make(rng: np.random.Generator) -> Image:
        kw = dict(shot)
        qr = (
            segno.make_qr(text, encoding=encoding, eci=eci, error="m")
            if encoding
            else segno.make_qr(text, error="m")
        )
        sheet = on_paper(qr_symbol(qr, module_px), 18, rng, lines=3)
        pose_kw = kw.pop("pose", {})
        quad = pose(
            sheet,
            (W / 2 + pose_kw.get("dx", 0), H / 2 + pose_kw.get("dy", 0)),
            pose_kw.get("width", sheet.shape[1]),
            pose_kw.get("angle", 0.0),
            pose_kw.get("tilt", (0.0, 0.0)),
        )
        scene = (
            cluttered_background(rng) if kw.pop("clutter", False) else plain_background(150, rng)
        )
        return camera(place(scene, sheet, quad), rng, **kw)

    return make


def scene_card(number: str, **shot) -> Callable[[np.random.Generator], Image]:
    """The back of a My Number card held to a webcam in front of a room."""

    def make(rng: np.random.Generator) -> Image:
        kw = dict(shot)
        card = my_number_card(number, rng)
        p = kw.pop("pose")
        quad = pose(
            card,
            (W / 2 + p.get("dx", 0), H / 2 + p.get("dy", 0)),
            p["width"],
            p.get("angle", 0.0),
            p.get("tilt", (0.0, 0.0)),
        )
        return camera(place(cluttered_background(rng), card, quad), rng, **kw)

    return make


def scene_phone(
    text: str, *, module_px: float = 3.0, dark_mode: bool = False, **shot
) -> Callable[[np.random.Generator], Image]:
    """A pre-entry QR on a resident's phone held to the kiosk camera."""

    def make(rng: np.random.Generator) -> Image:
        kw = dict(shot)
        phone = phone_screen(qr_symbol(make_preentry_qr(text), module_px), dark_mode)
        p = kw.pop("pose")
        quad = pose(
            phone,
            (W / 2 + p.get("dx", 0), H / 2 + p.get("dy", 0)),
            p["width"],
            p.get("angle", 0.0),
            p.get("tilt", (0.0, 0.0)),
        )
        return camera(place(plain_background(110, rng), phone, quad), rng, **kw)

    return make


def scene_linear(
    content: str,
    fmt: zxingcpp.BarcodeFormat,
    *,
    gs1: bool = False,
    bar_w: int = 300,
    bar_h: int = 90,
    **shot,
) -> Callable[[np.random.Generator], Image]:
    """A 1-D barcode on a slip or a box, held in front of the camera."""

    def make(rng: np.random.Generator) -> Image:
        kw = dict(shot)
        sheet = on_paper(
            linear_symbol(content, fmt, bar_w, bar_h, gs1), 14, rng, lines=2, tint=(232, 236, 238)
        )
        p = kw.pop("pose", {})
        quad = pose(
            sheet,
            (W / 2 + p.get("dx", 0), H / 2 + p.get("dy", 0)),
            p.get("width", sheet.shape[1]),
            p.get("angle", 0.0),
            p.get("tilt", (0.0, 0.0)),
        )
        return camera(place(plain_background(140, rng), sheet, quad), rng, **kw)

    return make


def scene_micro(text: str, **shot) -> Callable[[np.random.Generator], Image]:
    """A Micro QR (one finder pattern) on a label."""

    def make(rng: np.random.Generator) -> Image:
        kw = dict(shot)
        sheet = on_paper(qr_symbol(segno.make_micro(text), 6.0), 10, rng, lines=1)
        p = kw.pop("pose", {})
        quad = pose(
            sheet,
            (W / 2, H / 2),
            p.get("width", sheet.shape[1]),
            p.get("angle", 0.0),
            p.get("tilt", (0.0, 0.0)),
        )
        return camera(place(plain_background(150, rng), sheet, quad), rng, **kw)

    return make


def scene_hd(text: str) -> Callable[[np.random.Generator], Image]:
    """A 1280×720 frame from a document camera: larger frame, modest QR."""

    def make(rng: np.random.Generator) -> Image:
        global W, H
        W, H = 1280, 720
        try:
            return scene_qr_paper(text, module_px=3.0, pose={"angle": 8}, blur=1.0)(rng)
        finally:
            W, H = 640, 480

    return make


# name -> (expected text, scene, file format, JPEG quality)
IMAGES: dict[str, tuple[str, Callable[[np.random.Generator], Image], str, int]] = {
    "qr_ja_utf8_no_eci": (
        JA_PLAIN,
        scene_qr_paper(JA_PLAIN, pose={"angle": 4, "tilt": (0.1, 0.0)}),
        "jpg",
        85,
    ),
    "qr_ja_utf8_eci": (JA_ECI, scene_qr_paper(JA_ECI, eci=True, pose={"angle": -6}), "jpg", 85),
    "qr_ja_kanji_mode": (
        JA_KANJI,
        scene_qr_paper(JA_KANJI, encoding=None, module_px=5.0, noise=0.0, blur=0.0),
        "png",
        0,
    ),
    "mynumber_card_valid": (
        MY_NUMBER_OK,
        scene_card(
            MY_NUMBER_OK, pose={"width": 330, "angle": -7, "tilt": (0.15, 0.05)}, light=(1.05, 0.8)
        ),
        "jpg",
        85,
    ),
    "mynumber_card_far": (
        MY_NUMBER_OK,
        scene_card(MY_NUMBER_OK, pose={"width": 160, "angle": 12, "dx": -120, "dy": 40}, blur=0.6),
        "jpg",
        85,
    ),
    "mynumber_card_bad_check_digit": (
        MY_NUMBER_BAD,
        scene_card(MY_NUMBER_BAD, pose={"width": 310, "angle": 5, "tilt": (-0.1, 0.0)}),
        "jpg",
        85,
    ),
    "preentry_phone": (
        preentry_text(),
        scene_phone(preentry_text(), pose={"width": 230, "angle": -5, "tilt": (0.1, 0.0)}),
        "jpg",
        85,
    ),
    "preentry_phone_tampered": (
        tamper(preentry_text()),
        scene_phone(tamper(preentry_text()), pose={"width": 230, "angle": 6}),
        "jpg",
        85,
    ),
    "preentry_phone_dark_mode": (
        preentry_text(),
        scene_phone(preentry_text(), dark_mode=True, pose={"width": 240, "angle": 3}),
        "jpg",
        85,
    ),
    "qr_rotated_30": (JA_PLAIN, scene_qr_paper(JA_PLAIN, pose={"angle": 30}), "jpg", 85),
    "qr_rotated_135": (
        JA_ECI,
        scene_qr_paper(JA_ECI, eci=True, pose={"angle": 135, "width": 260}),
        "jpg",
        85,
    ),
    "qr_perspective_strong": (
        JA_PLAIN,
        scene_qr_paper(JA_PLAIN, module_px=5.0, pose={"angle": 10, "tilt": (0.5, 0.25)}),
        "jpg",
        85,
    ),
    "qr_blur_gaussian": (
        JA_ECI,
        scene_qr_paper(JA_ECI, eci=True, module_px=4.0, blur=2.2),
        "jpg",
        85,
    ),
    "qr_blur_motion": (JA_PLAIN, scene_qr_paper(JA_PLAIN, module_px=4.0, motion=7), "jpg", 85),
    "qr_jpeg_q12": (
        JA_PLAIN,
        scene_qr_paper(JA_PLAIN, module_px=3.0, pose={"angle": 3}),
        "jpg",
        12,
    ),
    "qr_cluttered_background": (
        JA_ECI,
        scene_qr_paper(
            JA_ECI,
            eci=True,
            module_px=2.6,
            clutter=True,
            pose={"angle": -12, "tilt": (0.2, 0.1)},
            light=(1.1, 0.7),
        ),
        "jpg",
        85,
    ),
    "qr_small_far": (
        "https://www.city.midori.example/madoguchi/yoyaku",
        scene_qr_paper(
            "https://www.city.midori.example/madoguchi/yoyaku",
            module_px=1.6,
            pose={"angle": 5},
            blur=0.5,
        ),
        "jpg",
        90,
    ),
    "qr_dim_low_contrast": (
        JA_ECI,
        scene_qr_paper(
            JA_ECI, eci=True, module_px=3.5, light=(0.35, 0.25), contrast=0.45, noise=3.0
        ),
        "jpg",
        85,
    ),
    "qr_glare": (
        JA_PLAIN,
        scene_qr_paper(JA_PLAIN, module_px=4.0, glare=(350, 200, 38)),
        "jpg",
        85,
    ),
    "ean13_product": (
        PRODUCT_JAN,
        scene_linear(PRODUCT_JAN, zxingcpp.BarcodeFormat.EAN13, pose={"angle": 3}),
        "jpg",
        85,
    ),
    "gs1_128_payment_slip": (
        PAYMENT_SLIP,
        scene_linear(
            PAYMENT_SLIP,
            zxingcpp.BarcodeFormat.Code128,
            gs1=True,
            bar_w=560,
            bar_h=70,
            pose={"width": 600, "angle": -2},
        ),
        "jpg",
        90,
    ),
    "ean13_rotated_20": (
        PRODUCT_JAN,
        scene_linear(PRODUCT_JAN, zxingcpp.BarcodeFormat.EAN13, pose={"angle": 20, "width": 300}),
        "jpg",
        85,
    ),
    "code128_rotated_40": (
        "KM-2026-000417",
        scene_linear(
            "KM-2026-000417",
            zxingcpp.BarcodeFormat.Code128,
            bar_w=440,
            bar_h=90,
            pose={"angle": 40, "width": 470},
        ),
        "jpg",
        85,
    ),
    "micro_qr_label": (
        "KM0417",
        scene_micro("KM0417", pose={"angle": -8, "width": 170}),
        "jpg",
        85,
    ),
    "qr_hd_1280x720": (JA_KANJI, scene_hd(JA_KANJI), "jpg", 85),
    "qr_garbage_text": (
        "%%x9#@@!~~ 不明なデータ ~~!!",
        scene_qr_paper("%%x9#@@!~~ 不明なデータ ~~!!", noise=0.0, blur=0.0),
        "png",
        0,
    ),
}


def sweep(count: int) -> dict[str, tuple[str, Callable[[np.random.Generator], Image], str, int]]:
    """Return ``count`` random webcam conditions (size, blur, motion, light, angle, JPEG).

    Not committed: used to choose the decoder's fallback passes on more than the fixed
    set (``python tests/data/scan/make_images.py --sweep DIR 300``, then bench/scan.py DIR).
    """
    rng = np.random.default_rng(7)
    texts = [
        JA_PLAIN,
        JA_ECI,
        MY_NUMBER_OK,
        preentry_text(),
        "https://www.city.midori.example/madoguchi/yoyaku",
    ]
    cases: dict[str, tuple[str, Callable[[np.random.Generator], Image], str, int]] = {}
    for i in range(count):
        shot = {
            "blur": float(rng.choice([0.5, 1.0, 1.5, 2.0])),
            "noise": float(rng.uniform(1.5, 5.0)),
            "light": (float(rng.uniform(0.5, 1.15)), float(rng.uniform(0.4, 1.0))),
            "contrast": float(rng.uniform(0.5, 1.0)),
            "motion": int(rng.choice([0, 0, 0, 3, 5, 7])),
        }
        posed = {
            "angle": float(rng.uniform(0, 360)),
            "tilt": (float(rng.uniform(-0.4, 0.4)), float(rng.uniform(-0.3, 0.3))),
        }
        if rng.random() < 0.25:
            body = "".join(str(int(d)) for d in rng.integers(0, 10, 12))
            text = ean13(body)
            posed["angle"] = float(rng.uniform(-45, 45))
            posed["width"] = float(rng.uniform(200, 420))
            make = scene_linear(text, zxingcpp.BarcodeFormat.EAN13, pose=posed, **shot)
        else:
            text = texts[i % len(texts)]
            make = scene_qr_paper(
                text,
                module_px=float(rng.uniform(1.8, 4.5)),
                clutter=bool(rng.random() < 0.5),
                pose=posed,
                **shot,
            )
        cases[f"sweep_{i:04d}"] = (text, make, "jpg", int(rng.choice([40, 60, 80, 90])))
    return cases


def main() -> None:
    """Write every image and its expected text next to this script (or a sweep to DIR)."""
    out, images = HERE, IMAGES
    if len(sys.argv) == 4 and sys.argv[1] == "--sweep":
        out, images = Path(sys.argv[2]), sweep(int(sys.argv[3]))
        out.mkdir(parents=True, exist_ok=True)
    for name, (text, make, kind, quality) in sorted(images.items()):
        # Seeded by name, so adding an image leaves every other one as it was.
        img = make(np.random.default_rng(zlib.crc32(name.encode())))
        params = (
            [cv2.IMWRITE_JPEG_QUALITY, quality]
            if kind == "jpg"
            else [cv2.IMWRITE_PNG_COMPRESSION, 9]
        )
        ok, data = cv2.imencode(f".{kind}", img, params)
        assert ok
        for stale in out.glob(f"{name}.*"):
            if stale.suffix in (".jpg", ".png"):
                stale.unlink()
        (out / f"{name}.{kind}").write_bytes(data.tobytes())
        (out / f"{name}.txt").write_text(text, encoding="utf-8")
    print(f"wrote {len(images)} images to {out}")


if __name__ == "__main__":
    main()
