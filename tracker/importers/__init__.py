"""Pure importers: provider export bytes -> :class:`~tracker.records.ParsedLine`.

A format is a module with ``FORMAT_ID``, ``PROVIDER``, ``EXPECTED`` (what its
``identify`` looks for, in words), ``identify(head, filename)``,
``inspect(stream, filename, options)`` and ``extract(stream, filename,
options)`` (the :class:`Format` protocol, after beangulp's importer protocol).
:data:`FORMATS` is the registry keyed by format id, feeding ``--format`` and the
upload form; :func:`detect` picks the one format whose ``identify`` accepts a
file. To add a format (stripe, camt, ofx, mt940), write its module and add it
to :data:`FORMATS`.

Nothing here may import Flask, SQLAlchemy or any other layer below importers:
a test imports this package in a fresh interpreter and checks ``sys.modules``.

May import: the standard library, Babel, charset-normalizer,
:mod:`tracker.errors`, :mod:`tracker.money`, :mod:`tracker.records`,
:mod:`tracker.i18n`.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import BinaryIO, Protocol, cast

from tracker.errors import InputError
from tracker.i18n import gettext as _
from tracker.importers import paypal
from tracker.importers.reading import HEAD_SIZE, FileProfile, ReadOptions
from tracker.records import ParsedLine, Provider

__all__ = [
    "FORMATS", "HEAD_SIZE", "FileProfile", "Format", "ReadOptions", "detect", "get_format",
]  # fmt: skip


class Format(Protocol):
    """What every format module provides."""

    FORMAT_ID: str
    PROVIDER: Provider
    EXPECTED: str

    def identify(self, head: bytes, filename: str) -> bool:
        """Whether the first :data:`HEAD_SIZE` bytes look like this format."""

    def inspect(self, stream: BinaryIO, filename: str, options: ReadOptions) -> FileProfile:
        """Decide how to read the file, without yielding lines."""

    def extract(
        self, stream: BinaryIO, filename: str, options: ReadOptions
    ) -> Iterator[ParsedLine]:
        """Yield the file's lines; raise InputErrors after the last one."""


def _register(*modules: ModuleType) -> dict[str, Format]:
    return {cast(Format, m).FORMAT_ID: cast(Format, m) for m in modules}


#: Format id -> format module.
FORMATS: dict[str, Format] = _register(paypal)


def get_format(format_id: str) -> Format:
    """The format registered as ``format_id``.

    Raises:
        KeyError: no such format (the CLI validates choices against :data:`FORMATS`).
    """
    return FORMATS[format_id]


def detect(head: bytes, filename: str) -> Format:
    """The one registered format whose ``identify`` accepts ``head``.

    Args:
        head: the file's first bytes (:data:`HEAD_SIZE` of them suffice).
        filename: the file's name, for formats that look at it and for errors.

    Raises:
        InputError: no format matches (the message lists what each expects),
            or several do (the message names them; pass ``--format``).
    """
    head = head[:HEAD_SIZE]
    matches = [fmt for fmt in FORMATS.values() if fmt.identify(head, filename)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        expected = "; ".join(_(fmt.EXPECTED) for fmt in FORMATS.values())
        raise InputError(
            filename,
            1,
            0,
            _(
                "no known export format matches this file. Expected: %(expected)s",
                expected=expected,
            ),
        )
    raise InputError(
        filename,
        1,
        0,
        _(
            "several formats match this file (%(formats)s); pass --format",
            formats=", ".join(fmt.FORMAT_ID for fmt in matches),
        ),
    )
