"""The one error hierarchy of tracker.

Every layer raises these; views and CLI commands map them to HTTP statuses and
exit codes. Imports nothing of the project, so pure layers (importers, tagging)
can use it.

Input errors carry the file, line and column where the input went wrong and a
message that never quotes an identity value (ARCHITECTURE.md rule 9). Parsers
collect them per file and raise them once, as an :class:`InputErrors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


class TrackerError(Exception):
    """Base of every error tracker raises on purpose."""


class ConfigError(TrackerError):
    """The application is configured in a way it refuses to run with."""


class NotFound(TrackerError):
    """A named object does not exist."""


class Conflict(TrackerError):
    """The request contradicts what is already stored."""


class InvariantError(TrackerError):
    """A ledger invariant would be broken; the unit of work is refused."""


class UnbalancedEntry(InvariantError):
    """A journal entry whose postings do not sum to zero per currency."""


class MoneyError(TrackerError, ValueError):
    """An amount or currency that is not exact money (rule 1)."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where in an input something happened (1-based; 0 means unknown)."""

    file: str
    line: int = 0
    column: int | str = 0

    def __str__(self) -> str:
        """Render as ``file:line:column`` (parts that are unknown left out)."""
        parts = [self.file or "<input>"]
        if self.line:
            parts.append(str(self.line))
            if self.column:
                parts.append(str(self.column))
        return ":".join(parts)


class InputError(TrackerError):
    """Bad input at a position: ``file:line:column: message``.

    ``column`` is a 1-based column number or the column's header name.
    """

    def __init__(self, file: str, line: int, column: int | str, message: str) -> None:
        """Create the error; ``message`` must not quote identity values."""
        self.position = Position(file, line, column)
        self.message = message
        super().__init__(f"{self.position}: {message}")

    @property
    def file(self) -> str:
        """The file's name as the user gave it."""
        return self.position.file

    @property
    def line(self) -> int:
        """The 1-based physical line number (0 when unknown)."""
        return self.position.line

    @property
    def column(self) -> int | str:
        """The 1-based column number or the header name (0 when unknown)."""
        return self.position.column

    def as_dict(self) -> dict[str, object]:
        """The error as the CLI's JSON contract spells it."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


class InputErrors(TrackerError):
    """Several input errors of one file, raised once after collecting them."""

    def __init__(self, errors: Iterable[InputError], *, total: int | None = None) -> None:
        """Wrap the collected errors; ``total`` counts those not kept."""
        self.errors = list(errors)
        if not self.errors:
            raise ValueError("InputErrors needs at least one error")
        self.total = total if total is not None else len(self.errors)
        more = self.total - len(self.errors)
        text = "\n".join(str(e) for e in self.errors)
        if more > 0:
            text += f"\n... and {more} more"
        super().__init__(text)

    def __iter__(self) -> Iterator[InputError]:
        """Iterate over the kept errors, in file order."""
        return iter(self.errors)
