"""Join rendered PDFs, number their pages through, and stamp the resident's signature.

Forms are rendered unsigned (and cached) while the resident reviews them; signing then
only stamps the drawn signature into the boxes whose positions the renderer recorded, and
joins the documents: milliseconds instead of a new layout of every form.

Rendered documents carry no page numbers: a packet is laid out in pieces (side by side in
worker processes), so only the join knows that a page is "7 / 10". The renderer prints a
numbering sheet (blank pages with just "x / N", in the forms' own page rule and font) and
the join lays each of its pages over the packet's page, as a Form XObject: the page's own
content is neither decoded nor compressed again.
"""

from __future__ import annotations

import hashlib
import io
import string
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import pikepdf
from PIL import Image

SIGNATURE_NAME = "/KSignature"
PAGE_NUMBER_NAME = "/KPageNumber"
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
    """A rendered PDF (pages not numbered), its page count and where its signature boxes are."""

    pdf: bytes
    pages: int
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


def _retag_fonts(pdf: pikepdf.Pdf, mark: int) -> None:
    """Give the font subsets of the ``mark``-th joined PDF tags of their own.

    WeasyPrint tags a subset by its font (``WNCCQH+IPAexGothic`` in every PDF it writes),
    whatever glyphs it holds; joined, two different subsets would share a name, which the
    PDF format forbids (ISO 32000 9.6.4) and which a printer or preflight tool that goes by
    name could take for one font.
    """
    seen: set[tuple[int, int]] = set()
    for page in pdf.pages:
        resources = page.obj.get("/Resources")
        fonts = resources.get("/Font") if resources is not None else None
        for font in fonts.values() if fonts is not None else ():
            if font.objgen in seen:
                continue
            seen.add(font.objgen)
            described = [(font, "/BaseFont")]
            for descendant in font.get("/DescendantFonts", []):
                described.append((descendant, "/BaseFont"))
                if "/FontDescriptor" in descendant:
                    described.append((descendant.FontDescriptor, "/FontName"))
            if "/FontDescriptor" in font:
                described.append((font.FontDescriptor, "/FontName"))
            for holder, key in described:
                name = str(holder.get(key, ""))
                if len(name) > 8 and name[7] == "+":
                    holder[key] = pikepdf.Name("/" + _subset_tag(name[1:7], mark) + name[7:])


def _subset_tag(tag: str, mark: int) -> str:
    digest = hashlib.sha256(f"{tag}:{mark}".encode()).digest()
    return "".join(string.ascii_uppercase[b % 26] for b in digest[:6])


def _wrap(pdf: pikepdf.Pdf, page: pikepdf.Page, drawing: bytes) -> None:
    """Draw on top of a page: its own content keeps its transformation inside q/Q."""
    # WeasyPrint leaves its transformation (y flipped, px to pt) in place at the end of a
    # page's content: wrap that content in q/Q before drawing on top. New small content
    # streams are added; the page's own stream is left as it is (no decoding, no
    # compressing again).
    page.contents_add(pikepdf.Stream(pdf, b"q\n"), prepend=True)
    page.contents_add(pikepdf.Stream(pdf, b"Q\n" + drawing), prepend=False)


def assemble(
    parts: Sequence[Rendered],
    signature_png: bytes | None,
    title: str,
    page_numbers: bytes,
) -> bytes:
    """Join rendered PDFs page by page, number the pages through, stamp the signature.

    ``page_numbers`` is a PDF with as many pages as ``parts`` together, each printed with
    nothing but its "x / N"; page *i* of it is laid over page *i* of the result.
    """
    with pikepdf.Pdf.new() as out:
        sources = [pikepdf.Pdf.open(io.BytesIO(part.pdf)) for part in parts]
        numbers = pikepdf.Pdf.open(io.BytesIO(page_numbers))
        try:
            for mark, source in enumerate([*sources[1:], numbers], start=1):
                _retag_fonts(source, mark)
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
                    page.add_resource(image[0], pikepdf.Name.XObject, pikepdf.Name(SIGNATURE_NAME))
                    _wrap(out, page, _placement(box, image[1], image[2]))
            if len(numbers.pages) != len(out.pages):
                raise ValueError(
                    f"numbering sheet has {len(numbers.pages)} pages for {len(out.pages)}"
                )
            for index, (page, number) in enumerate(zip(out.pages, numbers.pages, strict=True)):
                # One name per page: WeasyPrint's pages share one resource dictionary.
                name = f"{PAGE_NUMBER_NAME}{index + 1}"
                sheet = out.copy_foreign(number.as_form_xobject())
                page.add_resource(sheet, pikepdf.Name.XObject, pikepdf.Name(name))
                _wrap(out, page, f"{name} Do\n".encode())
            out.docinfo["/Title"] = title
            if "/Lang" in sources[0].Root:
                out.Root.Lang = sources[0].Root.Lang
            buffer = io.BytesIO()
            out.save(buffer)
        finally:
            numbers.close()
            for source in sources:
                source.close()
    return buffer.getvalue()
