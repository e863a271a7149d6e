"""How free text is cut into tokens and how tokens are normalised.

A *token* is a run of letters and digits (Unicode categories L and N) with the
combining marks (M) that follow them. Two things join runs into one token:

- a single number joiner between two digits (``.``, ``,``, ``-``, ``'``, any
  space such as U+00A0, U+202F or U+2009, and their compatibility forms), so
  ``1 205``, ``1.205,00``, ``205.00`` and ``912-205-33-44`` are each one token;
- invisible characters (format characters such as U+200B, U+00AD, U+202E and
  the other default-ignorable code points) between two word characters, so
  ``2\u200b05`` is one token that the lookalike check can recognise; at the
  edge of a token they are plain separators.

Tokens are cut from the text *as written* and only then normalised (NFKC,
casefold, NFKC), because normalising first would move token boundaries:
NFKC turns ``№205`` into ``No205``, where 205 would no longer stand alone.

May import: the standard library.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from itertools import chain

# Default-ignorable code points outside category Cf (DerivedCoreProperties.txt,
# Default_Ignorable_Code_Point): they render as nothing, so they count as
# invisible like the format characters.
_EXTRA_INVISIBLE = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors (VS16 turns a digit into an emoji)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xE0100, 0xE01EF),  # variation selectors supplement
)

# Joiners between digit groups, beyond every space separator (Zs). Hyphens
# join because phone numbers are written 912-205-33-44; apostrophes because
# Swiss amounts are written 1'205.
_JOINERS = ".,-'\u2010\u2011\u2012\u2019"

# Explicit direction overrides make a run display reversed: "\u202e502" shows
# as 205. Other bidi controls only reorder runs, never the digits inside one.
BIDI_OVERRIDES = "\u202d\u202e"

# The tokenizer's classes hold the Basic Multilingual Plane only: Python's re
# then tests membership with one bitmap lookup, while a class with astral
# ranges is scanned range by range for every character that is not in it (ten
# times slower). Astral characters (emoji, mathematical digits, historic
# scripts) are replaced by a BMP stand-in of the same class before tokenizing;
# see :func:`_stand_in`.
_BMP = range(0x10000)


@dataclass(frozen=True, slots=True)
class CharClasses:
    """The character classes the tokenizer is built from (regex class bodies)."""

    word: str
    mark: str
    invisible: str
    joiner: str


def _ranges(points: list[int]) -> str:
    """Render sorted code points as a regex character-class body of ranges."""
    parts: list[str] = []
    start = prev = -2
    for cp in [*points, -1]:
        if cp == prev + 1:
            prev = cp
            continue
        if start >= 0:
            parts.append(f"\\u{start:04x}" if start == prev else f"\\u{start:04x}-\\u{prev:04x}")
        start = prev = cp
    return "".join(parts)


_EXTRA = frozenset(cp for lo, hi in _EXTRA_INVISIBLE for cp in range(lo, hi + 1))
_JOINER_FORMS = frozenset(_JOINERS) | {" "}


def _char_class(ch: str) -> str:
    """``w`` word, ``m`` mark, ``i`` invisible, ``j`` joiner, ``s`` separator."""
    cat = unicodedata.category(ch)
    if cat == "Cf" or ord(ch) in _EXTRA:
        return "i"
    if cat[0] in "LN":
        return "w"
    if cat[0] == "M":
        return "m"
    if cat == "Zs" or ch in _JOINER_FORMS:
        return "j"
    if cat[0] in "PS" and unicodedata.normalize("NFKC", ch) in _JOINER_FORMS:
        # Full-width and small forms of "." "," "-" join as their ASCII
        # originals do, so full-width "1,205" is one number like "1,205".
        return "j"
    return "s"


@cache
def char_classes() -> CharClasses:
    """Classify every BMP code point once (about 0.1 s, on first use)."""
    found: dict[str, list[int]] = {"w": [], "m": [], "i": [], "j": [], "s": []}
    for cp in _BMP:
        found[_char_class(chr(cp))].append(cp)
    return CharClasses(
        word=_ranges(found["w"]),
        mark=_ranges(found["m"]),
        invisible=_ranges(found["i"]),
        joiner=_ranges(found["j"]),
    )


_STAND_INS = {"w": "a", "m": "\u0300", "i": "\u200b", "j": " ", "s": "!"}


@cache
def _stand_in_for(ch: str) -> str:
    cls = _char_class(ch)
    if cls == "w" and unicodedata.category(ch) == "Nd":
        return "0"  # a digit, so that number joining sees it
    return _STAND_INS[cls]


def _stand_in(match: re.Match[str]) -> str:
    return _stand_in_for(match.group())


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def bmp_text(text: str) -> str:
    """``text`` with each astral character replaced by a BMP one of its class.

    The result has the same length, so positions found in it hold in ``text``.
    """
    if text.isascii() or _ASTRAL.search(text) is None:
        return text
    return _ASTRAL.sub(_stand_in, text)


@cache
def token_pattern() -> re.Pattern[str]:
    """The tokenizer (BMP only): linear, since its alternatives use disjoint classes."""
    c = char_classes()
    wm = c.word + c.mark
    return re.compile(
        f"[{c.word}][{wm}]*(?:(?:[{c.invisible}]+|(?<=\\d)[{c.joiner}](?=\\d))[{wm}]+)*"
    )


@cache
def invisible_chars() -> frozenset[str]:
    """Every character the tokenizer treats as invisible (BMP and astral)."""
    bmp = (chr(cp) for cp in _BMP if _char_class(chr(cp)) == "i")
    astral = (chr(cp) for cp in range(0xE0000, 0xE1000) if _char_class(chr(cp)) == "i")
    return frozenset(chain(bmp, astral, map(chr, _EXTRA)))


def is_word_char(ch: str) -> bool:
    """Whether ``ch`` is a letter or digit (categories L and N, not invisible)."""
    return _char_class(ch) == "w"


def find_tokens(text: str) -> list[str]:
    """The tokens of ``text``, as written (fast path: no positions)."""
    proxy = bmp_text(text)
    if proxy is text:
        return token_pattern().findall(text)
    return [text[m.start() : m.end()] for m in token_pattern().finditer(proxy)]


def iter_tokens(text: str) -> list[tuple[int, int, str]]:
    """The tokens of ``text`` as (start, end, token as written)."""
    return [
        (m.start(), m.end(), text[m.start() : m.end()])
        for m in token_pattern().finditer(bmp_text(text))
    ]


def token_key(raw: str) -> str:
    """Normalise a token for lookup: NFKC, full case folding, NFKC.

    Turkish dotted capital I (U+0130) folds to plain ``i``: full case folding
    leaves ``i`` + U+0307, which would make "İSTANBUL" differ from "istanbul".
    Dotless i (U+0131) stays a letter of its own (and is a lookalike of ``i``).
    """
    if raw.isascii():
        return raw.lower()
    key = unicodedata.normalize("NFKC", raw).casefold()
    if "\u0307" in key:
        key = key.replace("i\u0307", "i")
    if not key.isascii():
        key = unicodedata.normalize("NFKC", key)
    return key


_SPACES = re.compile(r"\s+")


def gap_key(gap: str) -> tuple[str, bool]:
    """Normalise the text between two words of a phrase.

    Returns:
        The gap's key (a whitespace run becomes one space) and whether the gap
        held an invisible character, which is dropped from the key.
    """
    if gap.isspace():
        return " ", False
    hidden = invisible_chars()
    seen = any(ch in hidden for ch in gap)
    if seen:
        gap = "".join(ch for ch in gap if ch not in hidden)
    key = unicodedata.normalize("NFKC", gap).casefold()
    return _SPACES.sub(" ", key), seen


def shown(text: str, limit: int = 40) -> str:
    """``text`` safe to quote in a reason: invisible and control characters escaped.

    Bidi controls in particular must never reach a page unescaped, where they
    would reorder the message around them.
    """
    hidden = invisible_chars()
    out: list[str] = []
    for ch in text[:limit]:
        if ch in hidden or (unicodedata.category(ch)[0] in "CZ" and ch != " "):
            out.append(f"<U+{ord(ch):04X}>")
        else:
            out.append(ch)
    if len(text) > limit:
        out.append("…")
    return "".join(out)
