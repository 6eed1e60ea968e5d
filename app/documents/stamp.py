"""Put the resident's signature into every signature box of rendered PDFs, and join them.

Forms are rendered unsigned (and cached) while the resident reviews them; signing then
only stamps the drawn signature into the boxes whose positions the renderer recorded, and
joins the documents: milliseconds instead of a new layout of every form.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import pikepdf
from PIL import Image

SIGNATURE_NAME = "/KSignature"
PADDING_PT = 2.0
MAX_SIGNATURE_PIXELS = 4_000_000  # a drawn signature is ~600 x 150; refuse image bombs


class SignatureError(ValueError):
    """The signature is not a PNG image of a sensible size."""


@dataclass(frozen=True)
class SignBox:
    """A signature box on a page, in PDF points from the page's bottom-left corner."""

    page: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Rendered:
    """A rendered PDF and where its signature boxes are."""

    pdf: bytes
    sign_boxes: tuple[SignBox, ...] = ()


def _signature_image(pdf: pikepdf.Pdf, png: bytes) -> tuple[pikepdf.Stream, int, int]:
    """Make an image XObject (RGB with its alpha as a soft mask) of the signature PNG."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise SignatureError("the signature must be a PNG image")
    with Image.open(io.BytesIO(png)) as image:
        if image.width * image.height > MAX_SIGNATURE_PIXELS:
            raise SignatureError(f"the signature image is too large ({image.width}x{image.height})")
        rgba = image.convert("RGBA")
    width, height = rgba.size
    alpha = pikepdf.Stream(
        pdf,
        zlib.compress(rgba.getchannel("A").tobytes()),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=width,
        Height=height,
        ColorSpace=pikepdf.Name.DeviceGray,
        BitsPerComponent=8,
        Filter=pikepdf.Name.FlateDecode,
    )
    rgb = pikepdf.Stream(
        pdf,
        zlib.compress(rgba.convert("RGB").tobytes()),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=width,
        Height=height,
        ColorSpace=pikepdf.Name.DeviceRGB,
        BitsPerComponent=8,
        Filter=pikepdf.Name.FlateDecode,
        SMask=alpha,
    )
    return rgb, width, height


def _placement(box: SignBox, width: int, height: int) -> bytes:
    """Return the content stream drawing the signature centred in ``box``, ratio kept."""
    room_w, room_h = box.width - 2 * PADDING_PT, box.height - 2 * PADDING_PT
    scale = min(room_w / width, room_h / height)
    w, h = width * scale, height * scale
    x = box.x + PADDING_PT + (room_w - w) / 2
    y = box.y + PADDING_PT + (room_h - h) / 2
    return f"q {w:.3f} 0 0 {h:.3f} {x:.3f} {y:.3f} cm {SIGNATURE_NAME} Do Q\n".encode()


def assemble(
    parts: Sequence[Rendered], signature_png: bytes | None = None, title: str | None = None
) -> bytes:
    """Join rendered PDFs page by page, stamping the signature into their signature boxes."""
    if len(parts) == 1 and not (signature_png and parts[0].sign_boxes):
        return parts[0].pdf
    with pikepdf.Pdf.new() as out:
        sources = [pikepdf.Pdf.open(io.BytesIO(part.pdf)) for part in parts]
        try:
            image = None
            for part, source in zip(parts, sources, strict=True):
                first = len(out.pages)
                out.pages.extend(source.pages)
                if not signature_png:
                    continue
                for box in part.sign_boxes:
                    if image is None:
                        image = _signature_image(out, signature_png)
                    page = out.pages[first + box.page]
                    page.add_resource(image[0], pikepdf.Name.XObject, SIGNATURE_NAME)
                    # The page's own content leaves its transformation in place (WeasyPrint
                    # flips y and scales px to pt): wrap it in q/Q before drawing on top.
                    page.contents_add(pikepdf.Stream(out, b"q\n"), prepend=True)
                    placement = b"Q\n" + _placement(box, image[1], image[2])
                    page.contents_add(pikepdf.Stream(out, placement), prepend=False)
            out.docinfo["/Title"] = title or str(sources[0].docinfo.get("/Title", "申請書類"))
            if "/Lang" in sources[0].Root:
                out.Root.Lang = sources[0].Root.Lang
            buffer = io.BytesIO()
            out.save(buffer)
        finally:
            for source in sources:
                source.close()
    return buffer.getvalue()
