"""Lookalikes: text that a person reads as a tag but that is not the tag.

The skeleton idea comes from Unicode Technical Standard #39 (Unicode Security
Mechanisms), section 4 "Confusable Detection": two strings are confusable when
their *skeletons* are equal, where a skeleton replaces every character by the
prototype it is confusable with. :data:`_PROTOTYPES` is a compact subset of
UTS #39's ``confusables.txt`` (https://www.unicode.org/Public/security/latest/
confusables.txt): the Cyrillic, Greek, Armenian and Latin characters that look
like an ASCII letter or digit, plus the ASCII pairs 0/O and 1/l/I/i. Digits of
other scripts (Arabic-Indic ``٢٠٥``) map to their ASCII value; invisible
characters and nonspacing marks (accents, keycaps ``2️⃣``) vanish.

A skeleton match alone is not enough to call a token a lookalike: the token
must also *contain* something suspicious that the pattern does not: an
invisible character, a mark or accent, a digit of another script, a letter of
another script, a known homoglyph, or a letter among digits (``2o5``). A
token of plain ASCII letters never is one: "IOI" is an ordinary word, not a
lookalike of tag 101, "lola" is not one of "iola", and "cafe" is not one of
"café" (add both spellings if both are meant); but "2О5" (Cyrillic О) is one
of 205, and "Pénza" one of "penza".

May import: the standard library, tracker.i18n, and the sibling module tokens.
"""

# The confusables table below is made of lookalike characters on purpose.
# ruff: noqa: RUF001, RUF002, RUF003

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from tracker.i18n import N_
from tracker.i18n import gettext as _
from tracker.tagging.tokens import invisible_chars, is_word_char

# prototype -> characters confusable with it. Case matters here: the skeleton
# is taken before case folding, because Greek capital Ν looks like N but small
# ν looks like v. Pattern skeletons are taken of the pattern as written, folded
# and upper-cased, so a pattern's own case never decides.
_PROTOTYPES = {
    "a": "аАαΑɑ",
    "b": "ВвЬьβΒƄ",
    "c": "сСϲϹ",
    "d": "ԁ",
    "e": "еЕεΕ",
    "g": "ɡց",
    "h": "һҺНнΗհ",
    "j": "јЈϳ",
    "k": "кКκΚ",
    "l": "1IilіІӀӏιΙǀıɩ",
    "m": "мМΜ",
    "n": "ηΝո",
    "o": "0OоОοΟσօՕ",
    "p": "рРρΡ",
    "q": "ԛԚզ",
    "s": "ѕЅ",
    "t": "тТτΤ",
    "u": "υμս",
    "v": "νѵ",
    "w": "ԝԜωѡ",
    "x": "хХχΧ",
    "y": "уУγΥүҮ",
    "z": "Ζ",
    "2": "Ƨƨᒿ",
    "3": "зЗʒƷ",
    "6": "б",
}
_TABLE = {ord(ch): proto for proto, chars in _PROTOTYPES.items() for ch in chars}
HOMOGLYPHS = frozenset(chr(cp) for cp in _TABLE) - set("0123456789Iil")
_ASCII_TABLE = str.maketrans({"0": "o", "1": "l", "i": "l", "I": "l", "O": "o"})

# The scripts named in reasons, marked for translation.
_SCRIPTS = {
    "LATIN": N_("Latin"),
    "CYRILLIC": N_("Cyrillic"),
    "GREEK": N_("Greek"),
    "ARMENIAN": N_("Armenian"),
    "ARABIC-INDIC": N_("Arabic-Indic"),
    "EXTENDED ARABIC-INDIC": N_("Extended Arabic-Indic"),
    "DEVANAGARI": N_("Devanagari"),
    "BENGALI": N_("Bengali"),
    "THAI": N_("Thai"),
}


def ascii_skeleton_table() -> dict[int, str]:
    """The translation table for skeletons of lower-cased ASCII tokens."""
    return _ASCII_TABLE


def skeleton(raw: str) -> str:
    """The UTS #39 style skeleton of ``raw``, as written (not case folded)."""
    if raw.isascii():
        return raw.translate(_ASCII_TABLE).lower()
    hidden = invisible_chars()
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", raw):
        if ch in hidden:
            continue
        category = unicodedata.category(ch)
        if category in ("Mn", "Me"):
            # Accents vanish, so "Pénza" and "Пенза́" (a stress mark) come
            # close enough to be judged; spacing marks (Indic vowel signs) stay.
            continue
        proto = _TABLE.get(ord(ch))
        if proto is None and category == "Nd":
            proto = _TABLE.get(ord("0") + unicodedata.decimal(ch), str(unicodedata.decimal(ch)))
        out.append(ch if proto is None else proto)
    return "".join(out).casefold()


_WHY = {
    "override": N_(
        "stands in a text with a direction override (%(code)s) that can change how it reads"
    ),
    "invisible": N_("contains an invisible character (%(code)s)"),
    "mark": N_("contains a combining mark on a digit (%(code)s)"),
    "accent": N_("contains an accent or another mark (%(code)s)"),
    "digits": N_("is written with %(script)s digits (%(code)s)"),
    "digit": N_("contains a digit among letters (%(code)s)"),
    "letter": N_("contains a %(script)s letter (%(code)s)"),
    "homoglyph": N_("contains the lookalike letter '%(char)s' (%(code)s)"),
}


@dataclass(frozen=True, slots=True)
class Oddity:
    """What makes a token a lookalike: the first suspicious character and why.

    ``why`` is a key of :data:`_WHY`: invisible, mark (on a digit), accent,
    digits (of another script), digit (among letters), letter (of another
    script), homoglyph (of the pattern's own script) or override (bidi).
    """

    why: str
    char: str

    def describe(self) -> str:
        """The reason in words, translated (what follows "but")."""
        code = f"U+{ord(self.char):04X}"
        return _(_WHY[self.why], code=code, char=self.char, script=script(self.char))


def _script_name(ch: str) -> str:
    """The script of a letter or digit as its Unicode name begins (``CYRILLIC``)."""
    name = unicodedata.name(ch, "")
    return name.split(" DIGIT ")[0] if " DIGIT " in name else name.split(" ")[0]


def script(ch: str) -> str:
    """The script of a letter or digit, translated."""
    head = _script_name(ch)
    label = _SCRIPTS.get(head)
    return _(label) if label else head.title()


def oddity(raw: str, pattern_key: str) -> Oddity | None:
    """Why ``raw`` (a token or phrase, as written) is a lookalike of a pattern.

    Call it only when the skeletons are equal and the keys differ.

    Args:
        raw: the text as written, possibly with separators between words.
        pattern_key: the pattern's normalised key.

    Returns:
        The first suspicious character, or ``None`` when ``raw`` is an
        ordinary different word (all plain ASCII letters, or only characters
        the pattern itself uses).
    """
    hidden = invisible_chars()
    for ch in raw:
        if ch in hidden:
            return Oddity("invisible", ch)
    text = unicodedata.normalize("NFKC", raw)
    words = [ch for ch in text if is_word_char(ch) or unicodedata.category(ch)[0] == "M"]
    if all(ch.isascii() and ch.isalpha() for ch in words):
        return None
    allowed = set(pattern_key)
    letters = {_script_name(c) for c in allowed if c.isalpha()}
    after_digit = False
    for ch in words:
        why = _why(ch, allowed, letters, after_digit=after_digit)
        if why:
            return Oddity(why, ch)
        after_digit = unicodedata.category(ch) == "Nd" or (after_digit and not is_word_char(ch))
    return None


def _why(ch: str, allowed: set[str], scripts: set[str], *, after_digit: bool) -> str:
    """Why ``ch`` of a token is suspicious against a pattern (``""``: it is not)."""
    category = unicodedata.category(ch)
    if category[0] == "M":
        return "mark" if after_digit else "" if ch in allowed else "accent"
    folded = ch.casefold()
    if folded in allowed or all(c in allowed for c in folded):
        return ""
    if category == "Nd":
        return "digit" if ch.isascii() else "digits"
    if ch.isascii() or ch in HOMOGLYPHS or folded in HOMOGLYPHS:
        return "homoglyph" if _script_name(ch) in scripts else "letter"
    if any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", ch)):
        return "accent"
    return ""
