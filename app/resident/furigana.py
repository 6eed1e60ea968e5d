"""Furigana (ふりがな) for the labels of the resident's reading view, as <ruby> markup.

Readings come from pykakasi (a maintained kana–kanji dictionary, pure Python, no model to
download), because the ~300 labels of our forms change whenever policy staff edit a form:
a hand-kept readings table would fall behind. pykakasi cuts a label into dictionary words;
``CORRECTIONS`` fixes the few words it reads wrongly in our labels (a lone 人 read にん, 者
read もの after a noun, 歳 read とし). The <rt> is aria-hidden: a screen reader reads the
label once.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from markupsafe import Markup, escape

# pykakasi word → its reading in our labels.
CORRECTIONS = {
    "人": "ひと",
    "者": "しゃ",
    "歳": "さい",
    "後": "ご",
    "後の": "ごの",
    "氏": "うじ",
    "届書": "とどけしょ",
}
# Words pykakasi cuts wrongly (転出先住所 → 転出|先住|所): read whole, before pykakasi.
PHRASES = {
    "転出先": "てんしゅつさき",
    "住所": "じゅうしょ",
    "要介護": "ようかいご",
    "何子": "なんし",
    "算定上": "さんていじょう",
    "行った": "おこなった",
    "月分": "げつぶん",
}
_PHRASE = re.compile("|".join(sorted(map(re.escape, PHRASES), key=len, reverse=True)))
_KANJI = re.compile(r"[\u3400-\u9fff\u3005\u30f6]")  # CJK ideographs, 々, ヶ


@functools.cache
def _kakasi() -> Any:
    """Return the one pykakasi converter (its dictionaries load once, in about 0.4 s)."""
    import pykakasi  # imported late: only the resident's reading view needs it

    return pykakasi.kakasi()


def _to_hiragana(text: str) -> str:
    return "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in text)


def _ruby_word(orig: str, reading: str) -> str:
    """Return one word with its kanji part in <ruby>, okurigana outside (始め → 始(はじ)め)."""
    if not _KANJI.search(orig) or not reading:
        return str(escape(orig))
    head, tail = 0, 0
    plain, hira = _to_hiragana(orig), reading
    while (
        head < min(len(plain), len(hira)) - 1
        and not _KANJI.match(orig[head])
        and plain[head] == hira[head]
    ):
        head += 1
    while (
        tail < min(len(plain), len(hira)) - head - 1
        and not _KANJI.match(orig[-1 - tail])
        and plain[-1 - tail] == hira[-1 - tail]
    ):
        tail += 1
    core = orig[head : len(orig) - tail]
    core_reading = hira[head : len(hira) - tail]
    return (
        f'{escape(orig[:head])}<ruby>{escape(core)}<rt aria-hidden="true">'
        f"{escape(core_reading)}</rt></ruby>{escape(orig[len(orig) - tail :])}"
    )


@functools.lru_cache(maxsize=2048)  # labels are few (~300 in all forms): this holds them all
def furigana(text: str) -> Markup:
    """Return ``text`` with furigana on its kanji, as escaped HTML with <ruby>."""
    if not _KANJI.search(text):
        return escape(text)
    parts = []
    start = 0
    for match in [*_PHRASE.finditer(text), None]:
        end = match.start() if match else len(text)
        if end > start:
            for word in _kakasi().convert(text[start:end]):
                orig = word["orig"]
                parts.append(_ruby_word(orig, CORRECTIONS.get(orig, word["hira"])))
        if match:
            parts.append(_ruby_word(match.group(), PHRASES[match.group()]))
            start = match.end()
    return Markup("".join(parts))  # noqa: S704 (every piece escaped above)
