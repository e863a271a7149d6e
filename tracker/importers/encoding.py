"""Deciding the text encoding of an export once per file, then decoding it into lines.

Order (ARCHITECTURE rule: nothing guessed per row):

1. A BOM (UTF-8, UTF-16 LE, UTF-16 BE) wins; its bytes are skipped.
2. Else the caller's ``encoding`` option (``--encoding``), if a text codec.
3. Else the first :data:`SAMPLE_SIZE` bytes: UTF-16 without a BOM when NUL
   bytes fill every other position and the sample decodes; then strict UTF-8
   (a character cut at the end of the sample is fine).
4. Else charset-normalizer over :data:`CANDIDATES`. cp1251 (Cyrillic) and
   cp1252 (Western) read almost any bytes, so a choice between them must
   also be proven by the sample's words: words made only of bytes 0xC0-0xFF
   ("Пенза" in cp1251) prove cp1251, words mixing ASCII letters with such
   bytes ("Gebühr" in cp1252) prove cp1252. Otherwise: "cannot tell whether
   the file is cp1251 or cp1252; pass --encoding".

:class:`LineReader` then decodes the whole stream incrementally with a strict
codec, in chunks, and hands out physical lines (line ends kept) for ``csv``.
Bytes that do not decode, NUL characters and lines longer than
:data:`MAX_LINE` are errors with their line number, so a 1 GB file without a
newline fails in bounded memory.

May import: the standard library, charset-normalizer, :mod:`tracker.errors`,
:mod:`tracker.i18n`.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import BinaryIO

from tracker.errors import InputError
from tracker.i18n import gettext as _

SAMPLE_SIZE = 256 * 1024  #: bytes examined to detect an encoding
CHUNK_SIZE = 64 * 1024  #: bytes decoded at a time
MAX_LINE = 1024 * 1024  #: characters in one physical line
MAX_FIELD = 131072  #: characters in one field (Python's csv default limit)
#: Encodings charset-normalizer chooses among when the sample is not UTF-8.
CANDIDATES = ("cp1252", "cp1251", "utf_16_le", "utf_16_be")


@dataclass(frozen=True, slots=True)
class Encoding:
    """A decided encoding: codec name, how it was decided, BOM bytes to skip."""

    name: str
    source: str
    skip: int = 0


_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))  # fmt: skip
_WORD = re.compile(rb"[A-Za-z\x80-\xff]+")
_HIGH = re.compile(rb"[\xc0-\xff]")
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_ASCII_LETTER = re.compile(rb"[A-Za-z]")


def detect_encoding(stream: BinaryIO, filename: str, declared: str | None = None) -> Encoding:
    """Decide the file's encoding from its first :data:`SAMPLE_SIZE` bytes.

    Raises:
        InputError: an unknown declared codec, or no encoding fits the
            sample confidently (the message names ``--encoding``).
    """
    stream.seek(0)
    sample = stream.read(SAMPLE_SIZE)
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return Encoding(name, "bom", len(bom))
    if declared:
        try:
            info = codecs.lookup(declared)
        except LookupError:
            info = None
        if info is None or not getattr(info, "_is_text_encoding", True):
            raise InputError(
                filename,
                0,
                0,
                _("unknown encoding %(name)s in --encoding", name=f"'{declared[:40]}'"),
            )
        if info.name in ("utf-16", "utf-32"):
            # Without a BOM these codecs cannot know the byte order (Python's
            # incremental decoder refuses); the caller must name it.
            raise InputError(
                filename,
                1,
                0,
                _(
                    "%(name)s needs a byte order mark and the file has none; pass --encoding"
                    " %(name)s-le or %(name)s-be",
                    name=info.name,
                ),
            )
        return Encoding(info.name, "declared")
    at_eof = len(sample) < SAMPLE_SIZE
    utf16 = _utf16_without_bom(sample, at_eof)
    if utf16:
        return Encoding(utf16, "detected")
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(sample, False)
    except UnicodeDecodeError:
        pass
    else:
        return Encoding("utf-8", "detected")
    return Encoding(_single_byte(sample, at_eof, filename), "detected")


def _utf16_without_bom(sample: bytes, at_eof: bool) -> str | None:
    half = len(sample) // 2
    if half < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    for name, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros * 10 > half * 3 and others * 50 < half:
            try:
                codecs.getincrementaldecoder(name)("strict").decode(sample[: half * 2], at_eof)
            except UnicodeDecodeError:
                return None
            return name
    return None


def _single_byte(sample: bytes, at_eof: bool, filename: str) -> str:
    high = _NON_ASCII.search(sample)
    line = sample[: high.start() if high else 0].count(b"\n") + 1  # where the doubt starts
    if b"\x00" in sample:
        nul = sample.index(b"\x00")
        raise InputError(
            filename,
            sample[:nul].count(b"\n") + 1,
            0,
            _(
                "NUL byte at byte %(offset)s: the file is binary or in an unknown encoding;"
                " pass --encoding",
                offset=nul,
            ),
        )
    try:
        # Imported on the first file that is not UTF-8: most imports never need it.
        from charset_normalizer import from_bytes  # noqa: PLC0415

        best = from_bytes(sample, cp_isolation=list(CANDIDATES)).best()
        guess = None if best is None else codecs.lookup(best.encoding).name
    except Exception:
        guess = None
    if guess is None:
        raise InputError(filename, line, 0, _("cannot detect the file's encoding; pass --encoding"))
    if guess not in ("cp1251", "cp1252"):
        try:
            codecs.getincrementaldecoder(guess)("strict").decode(sample, at_eof)
        except UnicodeDecodeError:
            raise InputError(
                filename, line, 0, _("cannot detect the file's encoding; pass --encoding")
            ) from None
        return guess
    cyrillic = latin = 0
    for word in _WORD.findall(sample):
        highs = len(_HIGH.findall(word))
        if not highs:
            continue
        if _ASCII_LETTER.search(word):
            latin += 1
        elif highs >= 2:
            cyrillic += 1
    proven = "cp1251" if cyrillic and not latin else "cp1252" if latin and not cyrillic else None
    if (
        proven is None
        and at_eof
        and sample.decode("cp1251", "replace") == sample.decode("cp1252", "replace")
    ):
        proven = guess
    if proven != guess:
        raise InputError(
            filename,
            line,
            0,
            _("cannot tell whether the file is cp1251 or cp1252; pass --encoding"),
        )
    return guess


def decode_head(head: bytes) -> str | None:
    """Text of the first bytes of a file, for ``identify`` (never raises).

    Uses the BOM, the UTF-16 NUL pattern or UTF-8, and falls back to cp1252,
    which decodes the Latin-script header names of every documented export
    well enough to recognise them.
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :].decode(name, "replace")
    utf16 = _utf16_without_bom(head, at_eof=False)
    if utf16:
        return head.decode(utf16, "replace")
    try:
        return codecs.getincrementaldecoder("utf-8")("strict").decode(head, False)
    except UnicodeDecodeError:
        return head.decode("cp1252", "replace")


class LineReader:
    """Decoded physical lines of a stream, newline kept, handed out per chunk.

    :meth:`chunks` yields lists of lines so that ``csv`` can iterate them at
    C speed (``itertools.chain``); positions come from the csv reader's own
    line count. Raises :class:`InputError` (from the iterator) for bytes that
    do not decode, NUL characters and lines longer than :data:`MAX_LINE`.
    """

    def __init__(self, stream: BinaryIO, filename: str, encoding: Encoding) -> None:
        """Read ``stream`` from just after its BOM."""
        self.stream = stream
        self.filename = filename
        self.encoding = encoding
        self.lines_done = 0
        self.unterminated = 0  # number of the last line when it has no line end

    def _error(self, line: int, message: str) -> InputError:
        return InputError(self.filename, line, 0, message)

    def chunks(self) -> Iterator[list[str]]:
        """Yield the file's lines, each with its line end, a chunk's worth at a time."""
        self.stream.seek(self.encoding.skip)
        decoder = codecs.getincrementaldecoder(self.encoding.name)("strict")
        carry = ""
        while True:
            data = self.stream.read(CHUNK_SIZE)
            final = not data
            try:
                text = decoder.decode(data, final)
            except UnicodeDecodeError as exc:
                raise self._decode_error(exc, carry) from None
            except UnicodeError:  # a codec that fails without a position
                raise self._error(
                    self.lines_done + 1,
                    _(
                        "cannot decode the file as %(encoding)s; pass --encoding",
                        encoding=self.encoding.name,
                    ),
                ) from None
            if "\x00" in text:
                before = carry + text[: text.index("\x00")]
                raise self._error(
                    self.lines_done + 1 + before.count("\n"),
                    _(
                        "NUL character in the line: the file is binary or not %(encoding)s;"
                        " pass --encoding",
                        encoding=self.encoding.name,
                    ),
                )
            if carry:
                text = carry + text
            parts = text.split("\n")
            carry = parts.pop()
            if final and carry:
                # The last line lacks its newline; csv reads it the same with one.
                parts.append(carry)
                carry = ""
                self.unterminated = self.lines_done + len(parts)
            if parts:
                if max(map(len, parts)) > MAX_LINE:
                    at = next(i for i, p in enumerate(parts) if len(p) > MAX_LINE)
                    raise self._error(
                        self.lines_done + at + 1,
                        _("the line is longer than %(limit)s characters", limit=MAX_LINE),
                    )
                self.lines_done += len(parts)
                yield [p + "\n" for p in parts]
            if len(carry) > MAX_LINE:
                raise self._error(
                    self.lines_done + 1,
                    _("the line is longer than %(limit)s characters", limit=MAX_LINE),
                )
            if final:
                return

    def __iter__(self) -> Iterator[str]:
        """Every line, one at a time."""
        return chain.from_iterable(self.chunks())

    def _decode_error(self, exc: UnicodeDecodeError, carry: str) -> InputError:
        before = carry + exc.object[: exc.start].decode(self.encoding.name, "replace")
        line = self.lines_done + 1 + before.count("\n")
        if exc.end >= len(exc.object) and exc.reason in (
            "unexpected end of data",
            "truncated data",
        ):
            return self._error(
                line,
                _(
                    "the file ends inside a %(encoding)s character (is it truncated?)",
                    encoding=self.encoding.name,
                ),
            )
        return self._error(
            line,
            _(
                "byte 0x%(byte)s is not valid %(encoding)s; pass --encoding if the file is in"
                " another encoding",
                byte=f"{exc.object[exc.start]:02X}",
                encoding=self.encoding.name,
            ),
        )

    def quote_opened(self, start: int, quote: str = '"') -> int:
        """Where a quote left open by the record starting at ``start`` opened.

        Only called on the error path: reads the stream again from the top
        and follows quote parity from line ``start``; stops once the open
        field passes :data:`MAX_FIELD` characters.
        """
        line, opened, size = 0, 0, 0
        try:
            for text in LineReader(self.stream, self.filename, self.encoding):
                line += 1
                if line < start:
                    continue
                if text.count(quote) & 1:
                    opened, size = (0, 0) if opened else (line, 0)
                if opened:
                    size += len(text)
                    if size > MAX_FIELD:
                        break
        except InputError:
            pass
        return opened or start
