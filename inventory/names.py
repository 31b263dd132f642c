"""Vietnamese name keys, so people find a unit however they type its name.

Operators type "Ứng Hòa", "Ứng Hoà" (old tone placement) or "ung hoa" (no diacritics,
from an English keyboard); all must find the same district. Two keys do this:
`tone_key` ignores where the tone mark sits in a syllable, `plain_key` drops every mark.
"""

from __future__ import annotations

import re
import unicodedata

# The five Vietnamese tone marks as combining characters (after NFD).
TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
# Administrative prefixes people usually leave out when they say a name.
PREFIXES = ("thành phố", "thị trấn", "thị xã", "huyện", "phường", "xã")
_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    """NFC form: the one form the inventory stores and compares."""
    return unicodedata.normalize("NFC", text)


def is_nfc(text: str) -> bool:
    return unicodedata.is_normalized("NFC", text)


def _words(text: str) -> list[str]:
    return _SPACES.split(nfc(text).strip().casefold())


def tone_key(text: str) -> str:
    """A key equal for both tone-mark placements ("hòa" and "hoà"), marks kept.

    Each word's tone mark is taken off its vowel and put at the end of the word, so
    only which tone it is counts, not which vowel carries it.
    """
    keyed = []
    for word in _words(text):
        decomposed = unicodedata.normalize("NFD", word)
        tones = "".join(sorted(ch for ch in decomposed if ch in TONE_MARKS))
        base = "".join(ch for ch in decomposed if ch not in TONE_MARKS)
        keyed.append(unicodedata.normalize("NFC", base) + tones)
    return " ".join(keyed)


def plain_key(text: str) -> str:
    """A key with every diacritic dropped and đ read as d: "Ứng Hòa" → "ung hoa"."""
    decomposed = unicodedata.normalize("NFD", " ".join(_words(text)))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d")


def without_prefix(text: str) -> str:
    """The name without its administrative prefix: "Huyện Ứng Hòa" → "Ứng Hòa"."""
    folded = nfc(text).strip()
    lowered = folded.casefold()
    for prefix in PREFIXES:
        for candidate in (prefix, plain_key(prefix)):
            if lowered.startswith(candidate + " "):
                return folded[len(candidate) + 1 :].strip()
    return folded


def keys(name: str) -> tuple[str, str]:
    """The exact-ish and the loose key of a name, prefix removed."""
    bare = without_prefix(name)
    return tone_key(bare), plain_key(bare)
