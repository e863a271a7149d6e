"""Builds PayPal exports for tests and benchmarks, with the lines they must give.

The factory is independent of the importer: the header variants, Type and
Status strings and the kinds they must give are in
:mod:`tests.importers.paypal_variants` (copied from the formats README), and
the expected UTC time comes from zoneinfo (the importer uses its own
abbreviation table). So a mistake in the importer's tables shows up as a
mismatch instead of being copied.

    data, expected = build("en_activity_2018", transactions("en"), encoding="cp1252")

Also used by bench/parse_paypal.py to write a 100,000-line export.

``expected`` holds one dict per line in the shape of :func:`normalise`.
"""

from __future__ import annotations

import codecs
import io
import os
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.importers.paypal_variants import IMPACTS, STATUSES, TYPES, VARIANTS, Variant
from tracker.errors import InputError, InputErrors
from tracker.importers import ReadOptions, paypal
from tracker.records import ParsedLine

#: Real PayPal exports, read in place (never copied into the repository).
SAMPLES = Path(os.environ.get("TRACKER_SAMPLES", "/work/shared/formats/samples")) / "paypal"


@dataclass(frozen=True)
class Tx:
    """One PayPal line as the factory writes it (amounts in our convention)."""

    when: datetime  # aware, UTC
    kind: str
    currency: str
    gross: Decimal
    fee: Decimal = Decimal("0.00")  # what PayPal kept; the file's Fee column is -fee
    status: str = "completed"
    memo: bool = False
    name: str = ""
    from_email: str = ""
    to_email: str = ""
    txn_id: str = ""
    ref_id: str = ""
    note: str = ""
    subject: str = ""
    item_title: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # other columns by header name


NOTES = {
    "latin": (
        "for 205",
        "#205 solidarity",
        "Grüße aus München für 205",
        "",
        "café 205",
        '=HYPERLINK("http://x","205")',
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "-2+3",
        "two\nlines 205",
        'quote " inside; semi, comma\ttab',
    ),
    "cyrillic": (
        "на 205",
        "Пенза, сеть — 205",
        "for 205",
        "",
        "поддержка (205)",
        '=HYPERLINK("http://x","205")',
        "two\nlines Пенза",
    ),
    "ascii": ("for 205", "", "#205", "general fund", "=cmd", "two\nlines"),
}


def transactions(
    language: str,
    *,
    statement: bool = False,
    count: int = 40,
    seed: int = 1,
    charset: str = "latin",
    start: datetime = datetime(2021, 3, 13, 20, 0, tzinfo=UTC),
) -> list[Tx]:
    """A deterministic mix of lines a solidarity fund sees, in types ``language`` has."""
    return list(
        iter_transactions(
            language, statement=statement, count=count, seed=seed, charset=charset, start=start
        )
    )


def iter_transactions(language: str, *, statement: bool = False, count: int = 40,
                      seed: int = 1, charset: str = "latin",
                      start: datetime = datetime(2021, 3, 13, 20, 0, tzinfo=UTC),
                      currencies: Sequence[str] = ("EUR", "USD"),
                      ) -> Iterator[Tx]:  # fmt: skip
    """Like :func:`transactions`, lazily (the benchmark draws 100,000)."""
    rnd = random.Random(seed)
    kinds = TYPES[language]
    statuses = [s for s in STATUSES[language] if s != "completed"] if not statement else []
    pending = "pending" if "pending" in statuses else "completed"
    notes = NOTES[charset]
    when = start
    n = 0
    while n < count:
        when += timedelta(minutes=rnd.randint(1, 600), seconds=rnd.randint(0, 59))
        cur = currencies[rnd.randrange(len(currencies))]
        pick = rnd.random()
        tid = f"TX{seed:02d}{n:08d}"
        if pick < 0.55 or len(kinds) == 1:
            kind = rnd.choice(
                [
                    k
                    for k in ("donation", "subscription", "mobile", "express", "website")
                    if k in kinds
                ]
                or ["donation"]
            )
            gross = Decimal(
                rnd.choice(["5.00", "10.00", "20.50", "1234.56", "0.01", "50.00", "99999.99"])
            )
            fee = (gross * Decimal("0.029") + Decimal("0.30")).quantize(Decimal("0.01"))
            status = "completed"
            if statuses and rnd.random() < 0.15:
                status = rnd.choice(statuses)
            yield Tx(
                when,
                kind,
                cur,
                gross,
                fee,
                status,
                name=f"Donor {n}",
                from_email=f"donor{n}@example.org",
                to_email="fund@example.org",
                txn_id=tid,
                note=notes[n % len(notes)],
                subject="Spende" if language == "de" else "Donation 205" if n % 3 else "",
                item_title="Penza 205" if n % 4 == 0 else "",
            )
        elif pick < 0.65 and "refund" in kinds:
            yield Tx(
                when,
                "refund",
                cur,
                Decimal("-10.00"),
                Decimal("-0.29"),
                name=f"Donor {n}",
                from_email="fund@example.org",
                to_email=f"donor{n}@example.org",
                txn_id=tid,
                ref_id=f"TX{seed:02d}{max(n - 3, 0):08d}",
            )
        elif pick < 0.75 and "conversion" in kinds and len(currencies) > 1:
            other = "USD" if cur == "EUR" else "EUR"
            yield Tx(
                when,
                "conversion",
                cur,
                Decimal("-100.00"),
                txn_id=tid + "A",
                ref_id=tid + "W",
                from_email="fund@example.org",
            )
            yield Tx(
                when,
                "conversion",
                other,
                Decimal("117.31"),
                txn_id=tid + "B",
                ref_id=tid + "W",
                to_email="fund@example.org",
            )
            n += 1
        elif pick < 0.82 and "withdrawal" in kinds:
            yield Tx(when, "withdrawal", cur, Decimal("-250.00"), status=pending, txn_id=tid)
        elif pick < 0.87 and "deposit" in kinds:
            yield Tx(when, "deposit", cur, Decimal("30.00"), txn_id=tid, status=pending)
        elif pick < 0.90 and "authorization" in kinds and not statement:
            yield Tx(when, "authorization", cur, Decimal("15.00"), memo=True, txn_id=tid)
        else:
            extras = [
                k
                for k in (
                    "chargeback",
                    "dispute_fee",
                    "hold",
                    "release",
                    "reversal",
                    "unknown",
                    "dispute_hold",
                    "dispute_release",
                    "chargeback_reversal",
                )
                if k in kinds
            ]
            kind = rnd.choice(extras) if extras else "donation"
            sign = (
                -1
                if kind in ("chargeback", "dispute_fee", "hold", "reversal", "dispute_hold")
                else 1
            )
            yield Tx(
                when,
                kind,
                cur,
                Decimal("7.25") * sign,
                txn_id=tid,
                ref_id=f"TX{seed:02d}{max(n - 5, 0):08d}",
            )
        n += 1


def _amount(value: Decimal, numbers: str) -> str:
    text = f"{abs(value):,.2f}"
    if numbers == "de":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    elif numbers == "fr":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return ("-" if value < 0 else "") + text


def _date(local: datetime, style: str) -> str:
    order, sep, pad = style[:3], style[3], style[4:] == "0"
    day, month = (
        (f"{local.day:02d}", f"{local.month:02d}") if pad else (str(local.day), str(local.month))
    )
    first, second = (day, month) if order == "dmy" else (month, day)
    return f"{first}{sep}{second}{sep}{local.year}"


def _cells(v: Variant, tx: Tx, balance: Decimal) -> tuple[dict[str, str], dict[str, Any]]:
    zone = ZoneInfo(v.zone)
    local = tx.when.astimezone(zone)
    kind_text, kind = TYPES[v.language][tx.kind]
    status_text, status = STATUSES[v.language][tx.status]
    if v.statement:
        status = "completed"
    elif "status" not in v.fields:
        status = "other"
    impact = IMPACTS.get(v.language)
    values = {
        "date": _date(local, v.dates),
        "time": local.strftime("%H:%M:%S"),
        "zone": local.tzname() if v.abbr else v.zone,
        "name": tx.name,
        "type": kind_text,
        "status": status_text,
        "currency": tx.currency,
        "gross": _amount(tx.gross, v.numbers),
        "fee": _amount(-tx.fee, v.numbers),
        "net": _amount(tx.gross - tx.fee, v.numbers),
        "from": tx.from_email,
        "to": tx.to_email,
        "id": tx.txn_id,
        "ref": tx.ref_id,
        "item": tx.item_title,
        "subject": tx.subject,
        "note": tx.note,
        "balance": _amount(balance, v.numbers),
        "impact": ""
        if impact is None
        else (impact[2] or "")
        if tx.memo
        else impact[0]
        if tx.gross >= 0
        else impact[1],
        "amount": _amount(tx.gross, v.numbers),
    }
    cells = {v.fields[f]: values[f] for f in v.fields}
    for header, text in tx.extra.items():
        cells[header] = text
    gross = tx.gross
    fee = Decimal("0.00") if "amount" in v.fields else tx.fee
    incoming = gross >= 0
    if incoming:
        party = tx.from_email if "from" in v.fields else ""
    else:
        party = tx.to_email if "to" in v.fields else tx.from_email if "from" in v.fields else ""
    party = party or (tx.name if "name" in v.fields else "")
    texts = [
        [label, text]
        for label, key in (("note", "note"), ("subject", "subject"), ("item_title", "item"))
        if key in v.fields and (text := values[key]).strip()
    ]
    expect = {
        "kind": kind,
        "status": status,
        "occurred_at": tx.when.astimezone(UTC).isoformat(),
        "currency": tx.currency,
        "gross": str(gross),
        "fee": str(fee),
        "net": str(gross - fee),
        "affects_balance": not tx.memo,
        "balance": str(balance) if "balance" in v.fields else None,
        "external_id": (tx.txn_id or None) if "id" in v.fields else None,
        "reference_id": (tx.ref_id or None) if "ref" in v.fields else None,
        "counterparty": party or None,
        "provider_type": kind_text,
        "texts": texts,
    }
    return cells, expect


def render(v: Variant | str, txs: Iterable[Tx], *, delimiter: str = ",",
           newline: str = "\n") -> Iterator[tuple[str, dict[str, Any] | None]]:  # fmt: skip
    """Yield the file's text piece by piece, with each line's expectation (header: None)."""
    v = VARIANTS[v] if isinstance(v, str) else v

    def quote(cell: str) -> str:
        return '"' + cell.replace('"', '""') + '"'

    if v.style == "spaced":
        head = (delimiter + " ").join(v.header) + delimiter * v.empty_header_cells
    elif v.style == "qspaced":
        head = (delimiter + " ").join(quote(h) for h in v.header)
    else:
        head = delimiter.join(quote(h) for h in v.header) + delimiter * v.empty_header_cells
    yield head + newline, None
    line = 2
    balances: dict[str, Decimal] = {}
    for tx in txs:
        if moves_balance(tx):
            net = tx.gross if "amount" in v.fields else tx.gross - tx.fee
            balances[tx.currency] = balances.get(tx.currency, Decimal("0.00")) + net
        cells, expect = _cells(v, tx, balances.get(tx.currency, Decimal("0.00")))
        row = [cells.get(h, "") for h in v.header]
        sep = delimiter + " " if v.style == "qspaced" else delimiter
        text = sep.join(quote(c) for c in row)
        if v.style == "spaced":
            text += delimiter * v.empty_header_cells
        expect["line_no"] = line
        line += 1 + text.count("\n")
        yield text + newline, expect


#: Statuses whose lines PayPal shows without moving the balance.
NOT_MOVING = frozenset({"denied", "cancelled", "failed"})


def moves_balance(tx: Tx) -> bool:
    """Whether the line changes PayPal's running balance."""
    return not tx.memo and tx.status not in NOT_MOVING


def encode(text: str, encoding: str) -> bytes:
    """``text`` in ``encoding``; ``utf-16`` means little-endian with a BOM."""
    if encoding == "utf-16":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    return text.encode(encoding)


def build(
    v: Variant | str,
    txs: Iterable[Tx],
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    newline: str = "\n",
) -> tuple[bytes, list[dict[str, Any]]]:
    """The whole export as bytes, and the expected line dicts."""
    parts: list[str] = []
    expected: list[dict[str, Any]] = []
    for text, expect in render(v, txs, delimiter=delimiter, newline=newline):
        parts.append(text)
        if expect is not None:
            expected.append(expect)
    return encode("".join(parts), encoding), expected


def normalise(line: ParsedLine, *, full: bool = False) -> dict[str, Any]:
    """A JSON-ready dict of a ParsedLine (``full`` adds readable and raw)."""
    data: dict[str, Any] = {
        "line_no": line.line_no,
        "kind": line.kind.value,
        "status": line.status.value,
        "occurred_at": line.occurred_at.isoformat(),
        "currency": line.currency,
        "gross": str(line.gross),
        "fee": str(line.fee),
        "net": str(line.net),
        "affects_balance": line.affects_balance,
        "balance": None if line.balance is None else str(line.balance),
        "external_id": line.external_id,
        "reference_id": line.reference_id,
        "counterparty": line.counterparty,
        "provider_type": line.provider_type,
        "texts": [list(t) for t in line.texts],
    }
    if full:
        data["readable"] = [list(t) for t in line.readable]
        data["raw"] = [list(t) for t in line.raw]
    return data


def extract_bytes(data: bytes, name: str = "export.csv", **options: Any) -> list[ParsedLine]:
    """Every line ``paypal.extract`` yields for ``data`` (errors propagate)."""
    return list(paypal.extract(io.BytesIO(data), name, ReadOptions(**options)))


def errors_of(data: bytes, name: str = "export.csv",
              **options: Any) -> tuple[list[ParsedLine], list[InputError]]:  # fmt: skip
    """The lines yielded before the error, and the errors."""
    lines: list[ParsedLine] = []
    try:
        for line in paypal.extract(io.BytesIO(data), name, ReadOptions(**options)):
            lines.append(line)
    except InputErrors as exc:
        return lines, list(exc.errors)
    except InputError as exc:
        return lines, [exc]
    return lines, []


__all__ = [
    "SAMPLES",
    "VARIANTS",
    "Tx",
    "Variant",
    "build",
    "encode",
    "errors_of",
    "extract_bytes",
    "iter_transactions",
    "normalise",
    "render",
    "transactions",
]
