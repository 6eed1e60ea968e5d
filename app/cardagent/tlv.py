"""Parse BER-TLV as the My Number card's 券面事項入力補助AP returns it (no offsets)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_FIELD = 4096  # no field of the 入力補助AP is near this; longer is garbage or an attack


class TlvError(ValueError):
    """The bytes are not well-formed TLV (truncated, bad length, over-long field)."""


@dataclass(frozen=True, slots=True)
class Tlv:
    """One tag-length-value element: ``tag`` as an int (``0xDF22``), ``value`` its bytes."""

    tag: int
    value: bytes
    raw: bytes  # the whole element, tag and length included (what hashes are taken over)


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError("tag past the end")
    first = data[pos]
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:  # multi-byte tag number follows
        while True:
            if pos >= len(data):
                raise TlvError("tag truncated")
            tag = (tag << 8) | data[pos]
            pos += 1
            if not data[pos - 1] & 0x80:
                break
            if tag > 0xFFFFFF:
                raise TlvError("tag too long")
    return tag, pos


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError("length past the end")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0 or count > 2:
        raise TlvError("unsupported length form")
    if pos + count > len(data):
        raise TlvError("length truncated")
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def parse(data: bytes) -> list[Tlv]:
    """Split bytes into consecutive TLV elements; padding 00/FF after the last is ignored.

    :raises TlvError: truncated or over-long elements.
    """
    out: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if data[pos] == 0x00 or data[pos:] == b"\xff" * (len(data) - pos):
            break  # the rest of the EF is padding
        start = pos
        tag, pos = _read_tag(data, pos)
        length, pos = _read_length(data, pos)
        if length > MAX_FIELD:
            raise TlvError("field longer than any the card holds")
        if pos + length > len(data):
            raise TlvError("value truncated")
        out.append(Tlv(tag, data[pos : pos + length], data[start : pos + length]))
        pos += length
    return out


def find_outer(data: bytes, tag: int, *, max_skip: int = 8) -> Tlv:
    """Find the element ``tag`` at the start of ``data``, tolerating a few leading bytes.

    Some cards put extra bytes before the outer tag of EF 0002 (REFERENCE.md); we look for
    the tag in the first ``max_skip`` positions and accept it only if it parses cleanly.

    :raises TlvError: the tag is not there.
    """
    head = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
    for skip in range(0, min(max_skip, len(data)) + 1):
        if data[skip : skip + len(head)] != head:
            continue
        try:
            first = parse(data[skip:])[0]
        except (TlvError, IndexError):
            continue
        if first.tag == tag:
            return first
    raise TlvError(f"outer tag {tag:X} not found")


def children(element: Tlv) -> dict[int, Tlv]:
    """Return the elements inside a constructed element, by tag (the first of each)."""
    found: dict[int, Tlv] = {}
    for child in parse(element.value):
        found.setdefault(child.tag, child)
    return found


def encode(tag: int, value: bytes) -> bytes:
    """Encode one element (for the emulator and tests)."""
    head = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    return head + length + value
