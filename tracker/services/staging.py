"""Staging an export: parse, hash and seal it before any write lock is taken.

:func:`stage_file` reads the file through its importer (pure, streaming),
turns each :class:`~tracker.records.ParsedLine` into a :class:`StagedLine`
whose identity exists only as keyed hashes and a sealed raw row, and writes
the staged lines to a temporary file in chunks. Memory stays constant however
long the export; the database is not touched. The apply step
(:mod:`tracker.services.applying`) then replays the chunks inside one short
transaction.

Dedup keys use only language-independent fields (the provider's id, the
normalised kind, currency and sign), so the same month exported in German and
in English, or as an activity download and as a statement, dedupe against each
other. Rows without an id get an occurrence counter over (time, kind,
currency, amounts), so identical gifts on the same day are never merged.

May import: the pure layers, :mod:`tracker.sealing`.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Protocol

from tracker.importers import FORMATS, HEAD_SIZE, FileProfile, Format, ReadOptions, detect
from tracker.records import LineKind, LineStatus, ParsedLine
from tracker.sealing import BatchSealer, Keys

CHUNK = 2000


class Source(Protocol):
    """Something that opens as a seekable binary file: a :class:`~pathlib.Path`,
    or a sealed upload (:class:`tracker.services.uploads.SealedUpload`)."""

    @property
    def name(self) -> str: ...  # noqa: D102

    def open(self, mode: str = ...) -> IO[bytes]: ...  # noqa: D102

#: Statuses whose lines moved the provider balance (when ``affects_balance``).
BOOKED_STATUSES = frozenset(
    {
        LineStatus.COMPLETED,
        LineStatus.PENDING,
        LineStatus.REFUNDED,
        LineStatus.PARTIALLY_REFUNDED,
        LineStatus.REVERSED,
    }
)


@dataclass(slots=True)
class StagedLine:
    """A parsed line made safe to store: identity hashed, raw row sealed."""

    line_no: int
    dedup_key: str
    txn_key: str | None
    ref_key: str | None
    donor_key: str | None
    kind: str
    status: str
    affects_balance: bool
    occurred_at: datetime
    currency: str
    gross: Decimal
    fee: Decimal
    net: Decimal
    balance: Decimal | None
    provider_type: str
    texts: list[tuple[str, str]]
    metadata: list[tuple[str, str]]
    readable: dict[str, str]
    sealed: bytes

    @property
    def booked(self) -> bool:
        """Whether this line moves money in the ledger."""
        return self.affects_balance and self.status in BOOKED_STATUSES


@dataclass(slots=True)
class Edge:
    """A currency's first and last balance-bearing lines, for the balance check."""

    first: tuple[int, datetime, Decimal, Decimal] | None = None
    last: tuple[int, datetime, Decimal, Decimal] | None = None


@dataclass
class StagedFile:
    """A staged export: where its chunks are and what staging learned."""

    path: Source
    filename: str
    sha256: str
    size: int
    format: Format
    profile: FileProfile
    sealed_key: bytes
    lines: int = 0
    chunks: int = 0
    edges: dict[str, Edge] = field(default_factory=dict)
    unknown_types: Counter[str] = field(default_factory=Counter)
    staging: Path | None = None

    def read_chunks(self) -> Iterator[list[StagedLine]]:
        """Replay the staged lines chunk by chunk, in file order."""
        if self.staging is None:
            return
        with self.staging.open("rb") as handle:
            for _ in range(self.chunks):
                yield pickle.load(handle)  # noqa: S301 - our own temporary file

    def discard(self) -> None:
        """Delete the staging file."""
        if self.staging is not None:
            self.staging.unlink(missing_ok=True)
            self.staging = None


def file_digest(path: Source) -> tuple[str, bytes, int]:
    """SHA-256 of the file, its first bytes, and its size, in one streaming pass."""
    digest = hashlib.sha256()
    head = b""
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            if len(head) < HEAD_SIZE:
                head += block[: HEAD_SIZE - len(head)]
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), head, size


def choose_format(format_id: str, head: bytes, filename: str) -> Format:
    """The format named, or the one that identifies the file (``auto``)."""
    if format_id and format_id != "auto":
        return FORMATS[format_id]
    return detect(head, filename)


class _Keys:
    """Dedup keys for one file, with occurrence counters for id-less rows."""

    def __init__(self, keys: Keys, provider: str) -> None:
        self.keys = keys
        self.provider = provider
        self.occurrences: Counter[str] = Counter()

    def dedup(self, line: ParsedLine) -> str:
        sign = "+" if line.gross > 0 or (line.gross == 0 and line.net >= 0) else "-"
        if line.external_id:
            basis = f"id|{line.external_id.strip()}|{line.kind.value}|{line.currency}|{sign}"
        else:
            moment = line.occurred_at.isoformat()
            fingerprint = f"row|{moment}|{line.kind.value}|{line.currency}|{line.gross}|{line.fee}"
            self.occurrences[fingerprint] += 1
            basis = f"{fingerprint}|{self.occurrences[fingerprint]}"
        return self.keys.hash("dedup", f"{self.provider}|{basis}")

    def txn(self, value: str | None) -> str | None:
        return self.keys.hash("txn", value.strip()) if value and value.strip() else None

    def donor(self, value: str | None) -> str | None:
        return self.keys.hash("donor", value) if value and value.strip() else None


def stage_file(
    path: Source,
    *,
    filename: str,
    sha256: str,
    size: int,
    fmt: Format,
    options: ReadOptions,
    keys: Keys,
    progress: Callable[[int], None] | None = None,
) -> StagedFile:
    """Parse, hash and seal an export into a temporary staging file.

    Raises:
        InputError / InputErrors: the importer's, for bad input (nothing staged).
    """
    sealer: BatchSealer = keys.sealer()
    with path.open("rb") as stream:
        profile = fmt.inspect(stream, filename, options)
        stream.seek(0)
        staged = StagedFile(path, filename, sha256, size, fmt, profile, sealer.sealed_key)
        handle: IO[bytes] = tempfile.NamedTemporaryFile(prefix="tracker-stage-", suffix=".bin", delete=False)  # noqa: SIM115
        staged.staging = Path(handle.name)
        try:
            with handle:
                _stage_lines(fmt.extract(stream, filename, options), staged, _Keys(keys, fmt.PROVIDER.value), sealer, handle, progress)
        except BaseException:
            staged.discard()
            raise
    return staged


def _stage_lines(
    lines: Iterator[ParsedLine],
    staged: StagedFile,
    keys: _Keys,
    sealer: BatchSealer,
    handle: IO[bytes],
    progress: Callable[[int], None] | None,
) -> None:
    chunk: list[StagedLine] = []
    for line in lines:
        item = _stage(line, keys, sealer)
        chunk.append(item)
        _note(staged, item)
        if len(chunk) >= CHUNK:
            pickle.dump(chunk, handle, protocol=pickle.HIGHEST_PROTOCOL)
            staged.chunks += 1
            staged.lines += len(chunk)
            chunk = []
            if progress:
                progress(staged.lines)
    if chunk:
        pickle.dump(chunk, handle, protocol=pickle.HIGHEST_PROTOCOL)
        staged.chunks += 1
        staged.lines += len(chunk)
    if progress:
        progress(staged.lines)


def _stage(line: ParsedLine, keys: _Keys, sealer: BatchSealer) -> StagedLine:
    raw = json.dumps(line.raw, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return StagedLine(
        line_no=line.line_no,
        dedup_key=keys.dedup(line),
        txn_key=keys.txn(line.external_id),
        ref_key=keys.txn(line.reference_id),
        donor_key=keys.donor(line.counterparty),
        kind=line.kind.value,
        status=line.status.value,
        affects_balance=line.affects_balance,
        occurred_at=line.occurred_at,
        currency=line.currency,
        gross=line.gross,
        fee=line.fee,
        net=line.net,
        balance=line.balance,
        provider_type=line.provider_type[:120],
        texts=[tuple(t) for t in line.texts],  # type: ignore[misc]
        metadata=[tuple(m) for m in line.metadata],  # type: ignore[misc]
        readable=dict(line.readable),
        sealed=sealer.seal(raw),
    )


def _note(staged: StagedFile, item: StagedLine) -> None:
    if item.kind == LineKind.OTHER.value:
        staged.unknown_types[item.provider_type or "?"] += 1
    if item.balance is None or not item.booked:
        return
    edge = staged.edges.setdefault(item.currency, Edge())
    point = (item.line_no, item.occurred_at, item.balance, item.net)
    if edge.first is None:
        edge.first = point
    edge.last = point


def summary_of(staged: StagedFile) -> dict[str, Any]:
    """What staging noticed, for the batch summary."""
    return {
        "lines": staged.lines,
        "unknown_types": dict(staged.unknown_types),
    }
