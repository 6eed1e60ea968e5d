"""Kana conversion (ひらがな↔カタカナ, 全角↔半角) through jaconv, and kana checks for input."""

from __future__ import annotations

import re
from functools import lru_cache

import jaconv

_KATAKANA = re.compile(r"^[\u30A0-\u30FF\u3000 ]+$")


@lru_cache(maxsize=4096)  # names repeat across every form of a case
def katakana(text: str) -> str:
    """Return full-width katakana: hiragana and half-width kana are converted."""
    return str(jaconv.hira2kata(jaconv.h2z(text, kana=True, ascii=False, digit=False)))


@lru_cache(maxsize=4096)  # names repeat across every form of a case
def hiragana(text: str) -> str:
    """Return hiragana: katakana (full or half width) is converted."""
    return str(jaconv.kata2hira(jaconv.h2z(text, kana=True, ascii=False, digit=False)))


def zenkaku(text: str) -> str:
    """Return the text in full width (全角): ASCII letters, digits and kana."""
    return str(jaconv.h2z(text, kana=True, ascii=True, digit=True))


def hankaku(text: str) -> str:
    """Return the text in half width (半角): ASCII letters, digits and kana."""
    return str(jaconv.z2h(text, kana=True, ascii=True, digit=True))


def is_katakana(text: str) -> bool:
    """Tell whether the text is only full-width katakana, the long-vowel mark and spaces."""
    return bool(_KATAKANA.match(text))
