"""Reading machinery every CSV importer shares: bytes -> decoded lines -> records.

Pipeline, all streaming (peak memory does not grow with the file):

1. :func:`~tracker.importers.encoding.detect_encoding` decides the encoding
   once per file from a bounded sample (BOM, ``--encoding``, UTF-16 by its
   NUL pattern, strict UTF-8, then charset-normalizer with a cp1251/cp1252
   check; see that module).
2. :class:`~tracker.importers.encoding.LineReader` decodes incrementally with
   a strict codec and hands out physical lines in chunks; it rejects
   undecodable bytes, NUL characters and lines longer than ``MAX_LINE`` (so
   a 1 GB file without a newline fails in bounded memory).
3. :class:`CsvFile` reads the header (delimiter decided from it: comma, tab
   or semicolon), then records with Python's ``csv`` in strict mode; each
   record carries the physical line where it starts. Structural problems are
   collected in an :class:`ErrorSink`; fatal ones end the records.

Importers map header names (stripped, NFKC-normalised, case-folded: see
:func:`normalise_name`) and decide the date order and decimal mark in a first
pass with :mod:`tracker.importers.evidence`.

May import: the standard library, :mod:`tracker.errors`, :mod:`tracker.i18n`,
:mod:`tracker.importers.cells`, :mod:`tracker.importers.encoding`.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import chain
from typing import BinaryIO

from tracker.errors import InputError, InputErrors
from tracker.i18n import gettext as _
from tracker.importers.cells import DATE_ORDERS, DECIMAL_MARKS
from tracker.importers.encoding import (
    CHUNK_SIZE,
    MAX_FIELD,
    MAX_LINE,
    Encoding,
    LineReader,
    decode_head,
    detect_encoding,
)

__all__ = [
    "CHUNK_SIZE", "DELIMITERS", "HEAD_SIZE", "MAX_COLUMNS", "MAX_FIELD", "MAX_LINE",
    "CsvFile", "Encoding", "ErrorSink", "FileProfile", "Header", "LineReader", "ReadOptions",
    "detect_encoding", "is_fatal", "normalise_name", "sniff_header",
]  # fmt: skip

HEAD_SIZE = 64 * 1024  #: bytes given to ``identify``
MAX_COLUMNS = 4096  #: columns in a header
DELIMITERS = (",", "\t", ";")


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What the caller says about a file; ``None`` lets the file decide.

    ``timezone`` is the IANA zone for ambiguous, unknown or missing zone
    abbreviations; ``currency`` is for exports without a currency column.
    """

    encoding: str | None = None
    date_order: str | None = None
    decimal_mark: str | None = None
    timezone: str | None = None
    currency: str | None = None
    max_errors: int = 100

    def __post_init__(self) -> None:
        """Refuse option values no file can have (a usage error, not input)."""
        if self.date_order not in (None, *DATE_ORDERS):
            raise ValueError(f"date_order must be one of {DATE_ORDERS}")
        if self.decimal_mark not in (None, *DECIMAL_MARKS):
            raise ValueError(f"decimal_mark must be one of {DECIMAL_MARKS}")
        if self.max_errors < 1:
            raise ValueError("max_errors must be at least 1")


@dataclass(frozen=True, slots=True)
class FileProfile:
    """The assumptions an import actually used, stored with its batch."""

    format_id: str
    encoding: str
    encoding_source: str  # bom | declared | detected
    delimiter: str
    header_line: int
    variant: str
    language: str
    columns: tuple[tuple[str, str], ...]  # canonical field -> header as written
    date_order: str | None
    date_order_source: str  # option | detected | irrelevant
    decimal_mark: str
    decimal_mark_source: str  # option | detected | irrelevant
    timezone: str | None = None
    currency: str | None = None
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready copy (tuples become lists)."""
        data = asdict(self)
        data["columns"] = dict(self.columns)
        data["notes"] = list(self.notes)
        return data


class ErrorSink:
    """Collects a file's input errors: keeps ``max_errors``, counts the rest."""

    def __init__(self, filename: str, max_errors: int = 100) -> None:
        """Start empty for ``filename``."""
        self.filename = filename
        self.max_errors = max_errors
        self.errors: list[InputError] = []
        self.total = 0

    def add(self, line: int, column: int | str, message: str) -> None:
        """Record an error at ``line``/``column``."""
        self.add_error(InputError(self.filename, line, column, message))

    def add_error(self, error: InputError) -> None:
        """Record an error made elsewhere."""
        self.total += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(error)

    def __bool__(self) -> bool:
        """Whether any error was recorded."""
        return self.total > 0

    def raise_if_any(self) -> None:
        """Raise :class:`InputErrors` with everything collected, if anything."""
        if self.errors:
            raise InputErrors(self.errors, total=self.total)


# --- lines ------------------------------------------------------------------------


# --- header and records -------------------------------------------------------------


def normalise_name(name: str) -> str:
    """A header name as matched: NFKC, no BOM, blanks collapsed and stripped, case-folded."""
    text = unicodedata.normalize("NFKC", name).replace("\ufeff", "")
    return " ".join(text.split()).casefold()


@dataclass(frozen=True, slots=True)
class Header:
    """A file's header: names as written (stripped) and as matched."""

    line: int
    names: tuple[str, ...]
    keys: tuple[str, ...]
    width: int  # cells in the header line, trailing empty ones included

    def find(self, aliases: Iterable[str]) -> list[int]:
        """Indexes of the columns whose name is one of ``aliases`` (normalised)."""
        wanted = {normalise_name(a) for a in aliases}
        return [i for i, key in enumerate(self.keys) if key in wanted]


def _split_header(line: str) -> tuple[str, bool]:
    counts = dict.fromkeys(DELIMITERS, 0)
    spaced = 0
    in_quote = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_quote = not in_quote
        elif not in_quote and ch in counts:
            counts[ch] += 1
            spaced += line[i + 1 : i + 2] == " "
    delimiter = max(DELIMITERS, key=lambda d: counts[d])
    if not counts[delimiter]:
        return "", False
    return delimiter, spaced * 2 >= counts[delimiter]


def sniff_header(head: bytes) -> tuple[str, ...] | None:
    """The normalised names of a file's first line, for ``identify`` (never raises).

    Args:
        head: the first bytes of the file (:data:`HEAD_SIZE` is enough).

    Returns:
        The names as :func:`normalise_name` gives them, or ``None`` when the
        first line has no delimiter or does not parse.
    """
    text = decode_head(head[:HEAD_SIZE])
    if text is None:
        return None
    first = next((ln for ln in text.split("\n") if ln.strip()), "")
    delimiter, spaced = _split_header(first)
    if not delimiter:
        return None
    try:
        cells = next(csv.reader([first], delimiter=delimiter, strict=True, skipinitialspace=spaced))
    except (csv.Error, StopIteration):
        return None
    return tuple(normalise_name(c) for c in cells[:MAX_COLUMNS])


_FIELD_LIMIT = "field larger than field limit"
_END_IN_QUOTE = "unexpected end of data"


def is_fatal(reason: str) -> bool:
    """Whether a ``csv.Error`` message means the records after it cannot be trusted.

    An overlong field or the end of the file inside quotes: a quote was left
    open, so whatever follows was read as the inside of one field.
    """
    return _FIELD_LIMIT in reason or _END_IN_QUOTE in reason


class CsvFile:
    """One pass over a CSV export: the header, then records with line numbers.

    Construct a new one per pass; each starts at the beginning of the stream.
    Field size is bounded by ``csv.field_size_limit()`` (131072, the default,
    equal to :data:`MAX_FIELD`); if something in the process raised it,
    :meth:`rows` still rejects fields over :data:`MAX_FIELD`.
    """

    def __init__(self, stream: BinaryIO, filename: str, encoding: Encoding,
                 sink: ErrorSink) -> None:  # fmt: skip
        """Read up to and including the header.

        Raises:
            InputError: an empty file, no delimiter in the header, too many
                columns, or a line problem before the header.
        """
        self.filename = filename
        self.sink = sink
        self.lines = LineReader(stream, filename, encoding)
        chunks = self.lines.chunks()
        seen: list[list[str]] = []
        first = None
        for chunk in chunks:
            seen.append(chunk)
            first = next((ln for ln in chunk if ln.strip()), None)
            if first is not None or sum(map(len, seen)) > 10_000:
                break
        if first is None:
            raise InputError(
                filename, max(self.lines.lines_done, 1), 0, _("the file is empty: no header line")
            )
        self.delimiter, self.skipinitialspace = _split_header(first)
        line = self.lines.lines_done - sum(map(len, seen)) + 1
        line += next(i for i, ln in enumerate(chain.from_iterable(seen)) if ln is first)
        if not self.delimiter:
            raise InputError(
                filename,
                line,
                0,
                _("the header has no comma, tab or semicolon between column names"),
            )
        self.reader = csv.reader(
            chain(chain.from_iterable(seen), chain.from_iterable(chunks)),
            delimiter=self.delimiter,
            strict=True,
            skipinitialspace=self.skipinitialspace,
        )
        try:
            cells: list[str] = []
            while not cells:
                cells = next(self.reader)
        except (csv.Error, StopIteration):
            raise InputError(filename, line, 0, _("cannot read the header line")) from None
        if len(cells) > MAX_COLUMNS:
            raise InputError(
                filename,
                line,
                0,
                _(
                    "the header has %(count)s columns; at most %(limit)s are allowed",
                    count=len(cells),
                    limit=MAX_COLUMNS,
                ),
            )
        names = [c.replace("\ufeff", "").strip() for c in cells]
        while names and not names[-1]:
            names.pop()
        self.header = Header(
            line, tuple(names), tuple(normalise_name(n) for n in names), len(cells)
        )
        self._check_size = csv.field_size_limit() > MAX_FIELD

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(line, cells)`` per record; problems go to the sink.

        Blank lines are skipped. A record whose cell count differs from the
        header's (beyond the header's trailing empty columns) is an error.
        Fatal problems (a quote never closed, an overlong field, a line
        problem from :class:`LineReader`) are recorded and end the records.
        """
        reader, sink = self.reader, self.sink
        low, high = len(self.header.names), self.header.width
        width = low if low == high else 0  # decided by the first record otherwise
        check_size = self._check_size
        last = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except InputError as exc:
                sink.add_error(exc)
                return
            except csv.Error as exc:
                start, last = last + 1, reader.line_num
                if self._csv_error(start, str(exc)):
                    return
                continue
            start, last = last + 1, reader.line_num
            if not row:
                continue
            if check_size and max(map(len, row)) > MAX_FIELD:
                sink.add(
                    start, 0, _("a field is longer than %(limit)s characters", limit=MAX_FIELD)
                )
                return
            count = len(row)
            if count != width:
                if count < low or count > high:
                    sink.add(
                        start,
                        0,
                        _(
                            "the line has %(count)s cells but the header has %(width)s",
                            count=count,
                            width=low,
                        ),
                    )
                    continue
                if width and count != width:
                    # Rows agree on the header's trailing empty cells; one that
                    # does not was cut short (or comes from another file).
                    sink.add(
                        start,
                        0,
                        _(
                            "the line has %(count)s cells but the lines before have %(width)s",
                            count=count,
                            width=width,
                        ),
                    )
                    continue
                if last == self.lines.unterminated and count != high:
                    sink.add(
                        start,
                        0,
                        _(
                            "the file ends inside this line, with %(count)s of %(width)s cells"
                            " (is it cut off?)",
                            count=count,
                            width=high,
                        ),
                    )
                    continue
                extra = next((i for i in range(low, count) if row[i]), None)
                if extra is not None:
                    sink.add(start, extra + 1, _("a cell in a column without a header name"))
                    continue
                width = count
            yield start, row

    def _csv_error(self, start: int, reason: str) -> bool:
        """Record a csv module error; True when reading cannot go on."""
        if _FIELD_LIMIT in reason:
            self.sink.add(
                self.lines.quote_opened(start),
                0,
                _(
                    "a field is longer than %(limit)s characters (is a quote never closed?)",
                    limit=MAX_FIELD,
                ),
            )
            return True
        if _END_IN_QUOTE in reason:
            self.sink.add(
                self.lines.quote_opened(start), 0, _("a quote opened in this line is never closed")
            )
            return True
        if "expected after" in reason:
            message = _("a closing quote must be followed by the delimiter or the line end")
        elif "new-line character seen in unquoted field" in reason:
            message = _("a carriage return inside an unquoted field")
        else:
            message = _("malformed CSV record")
        self.sink.add(start, 0, message)
        return False
