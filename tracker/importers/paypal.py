"""PayPal exports -> :class:`~tracker.records.ParsedLine`: activity, history, statement.

Variants read (formats README section 1): the Activity download (2018 default
41 fields, user-customised subsets, UK ``Time zone``; German, Italian and
Spanish headers; German 2016/2017 headers with ", " separators and
``Transactionscode``), the old Download History (", " header, trailing
comma), the short history with one ``Amount`` column (gross = amount, fee 0)
and Statement CSVs (English, ``"Fee "``, Spanish with empty trailing header
columns and ``Comisión``, French, German with ``Gebühr`` or ``Entgelt``).
Headers, types, statuses and balance impacts are mapped through the tables in
:mod:`tracker.importers.paypal_tables`.

Two passes over the stream: the first (:func:`inspect`) decides encoding,
delimiter, date order and decimal mark from the whole file; the second
(:func:`extract`) applies them strictly, one record at a time.

Amounts: PayPal's Fee is negative when PayPal keeps money, so our ``fee`` (what
the provider kept) is its negation; ``Gross + Fee == Net`` is checked where all
three columns exist. A statement has no Status: its lines are completed (it
lists balance-affecting lines only, README 1.1). An activity file without a
Status column (a customised export, or Spanish, whose status header is not
documented) gives status ``other``. ``Memo`` in Balance Impact means the line
moves no money; without that column, authorisations and cart items are memo.

May import: the standard library, :mod:`tracker.errors`, :mod:`tracker.i18n`,
:mod:`tracker.money`, :mod:`tracker.records` and :mod:`tracker.importers`'s
pure modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import BinaryIO

from tracker.errors import InputError, MoneyError
from tracker.i18n import N_
from tracker.i18n import gettext as _
from tracker.importers import paypal_tables as tables
from tracker.importers.cells import AmountParser, CellError, DateParser, parse_time
from tracker.importers.evidence import collect, decide_date_order, decide_decimal_mark
from tracker.importers.reading import (
    CsvFile,
    Encoding,
    ErrorSink,
    FileProfile,
    Header,
    ReadOptions,
    detect_encoding,
    sniff_header,
)
from tracker.importers.timezones import Zone, ZoneCache, ZoneError, check_fallback
from tracker.money import normalise_currency
from tracker.records import LineKind, LineStatus, ParsedLine, Provider

FORMAT_ID = "paypal"
PROVIDER = Provider.PAYPAL
#: What identify() looks for, shown when no format matches a file.
EXPECTED = N_(
    "PayPal: a header with Date, Time, Time Zone, Gross or Amount, and Type or"
    " Description (activity download, history or statement; en, de, it, es, fr)"
)

#: Columns kept in clear (ARCHITECTURE rule 10); every other column, known or
#: not (names, e-mails, addresses, phone, ids), is sealed by the caller.
READABLE_FIELDS = frozenset({
    "date", "time", "timezone", "type", "description", "status", "currency", "gross", "fee",
    "net", "amount", "balance", "balance_impact", "note", "subject", "item_title",
})  # fmt: skip
#: Fields tagging searches, as (label in ParsedLine.texts, canonical field).
TEXT_FIELDS = (("note", "note"), ("subject", "subject"), ("item_title", "item_title"))

_TWO = {f"{i:02d}": i for i in range(100)}


@dataclass(frozen=True, slots=True)
class _Layout:
    """Which column holds which field, for one header."""

    header: Header
    index: dict[str, int]
    variant: str
    language: str

    def column(self, field: str) -> str:
        """The header name of ``field`` as written (or its English name)."""
        i = self.index.get(field)
        return self.header.names[i] if i is not None else tables.DISPLAY[field]


def _map(header: Header, filename: str) -> tuple[dict[str, int], str]:
    """Field -> column index, and the language most of the names are in."""
    index: dict[str, int] = {}
    votes = dict.fromkeys(tables.LANGUAGES, 0)
    for i, name in enumerate(header.keys):
        hits = tables.ALIASES.get(name)
        if not hits:
            continue
        field = hits[0][0]
        if field in index:
            raise InputError(
                filename,
                header.line,
                header.names[i],
                _(
                    "the columns %(first)s and %(second)s mean the same",
                    first=header.names[index[field]],
                    second=header.names[i],
                ),
            )
        index[field] = i
        for _f, lang in hits:
            votes[lang] += 1
    language = max(tables.LANGUAGES, key=lambda lang: votes[lang])
    return index, language


def _layout(header: Header, filename: str, options: ReadOptions) -> _Layout:
    index, language = _map(header, filename)
    variant = "activity" if "type" in index else "statement" if "description" in index else ""
    if variant == "activity" and "gross" not in index and "amount" in index:
        variant = "history-amount"

    def missing(field: str, message: str) -> InputError:
        # Name the column as the file's language would (English as PayPal's docs).
        local = tables.HEADERS[field].get(language)
        name = local[0] if local and language != "en" else tables.DISPLAY[field]
        return InputError(filename, header.line, name, message)

    if not variant:
        raise missing(
            "type",
            _(
                "no Type or Description column: not a PayPal export this"
                " importer knows (expected %(what)s)",
                what=_(EXPECTED),
            ),
        )
    for field in ("date", "time", "gross"):
        if field not in index and not (field == "gross" and "amount" in index):
            names = ", ".join(tables.HEADERS[field].get(language, tables.HEADERS[field]["en"]))
            raise missing(
                field,
                _(
                    "the PayPal %(variant)s export (%(language)s) has no column %(names)s",
                    variant=variant,
                    language=language,
                    names=names,
                ),
            )
    if "currency" not in index and not options.currency:
        raise missing("currency", _("the file has no currency column; pass --currency"))
    if "timezone" not in index and not options.timezone:
        raise missing("timezone", _("the file has no time zone column; pass --timezone"))
    return _Layout(header, index, variant, language)


def _check_options(filename: str, options: ReadOptions) -> None:
    try:
        check_fallback(options.timezone)
    except ZoneError as exc:
        raise InputError(filename, 0, 0, str(exc)) from None
    if options.currency:
        try:
            normalise_currency(options.currency)
        except MoneyError:
            raise InputError(filename, 0, 0, _("unknown currency in --currency")) from None


def identify(head: bytes, filename: str) -> bool:
    """Whether ``head`` (the first 64 KiB) starts with a PayPal header.

    Args:
        head: the file's first bytes.
        filename: the file's name (not used: PayPal names files freely).
    """
    keys = sniff_header(head)
    if not keys:
        return False
    fields = {hit[0] for k in keys for hit in tables.ALIASES.get(k, ())}
    return (
        {"date", "time", "timezone"} <= fields
        and bool(fields & {"gross", "amount"})
        and bool(fields & {"type", "description"})
    )


def _inspect(stream: BinaryIO, filename: str, options: ReadOptions
             ) -> tuple[FileProfile, Encoding, _Layout]:  # fmt: skip
    _check_options(filename, options)
    encoding = detect_encoding(stream, filename, options.encoding)
    first = CsvFile(stream, filename, encoding, ErrorSink(filename, 1))
    layout = _layout(first.header, filename, options)
    index = layout.index
    amount_cols = [
        (index[f], layout.column(f))
        for f in ("gross", "amount", "fee", "net", "balance")
        if f in index
    ]
    date_vote, mark_vote = collect(
        first,
        None if options.date_order else index["date"],
        [] if options.decimal_mark else amount_cols,
    )
    line = first.header.line + 1
    order, order_how = decide_date_order(
        date_vote, options.date_order, filename, line, layout.column("date")
    )
    mark, mark_how = decide_decimal_mark(mark_vote, options.decimal_mark, filename, line)
    notes = []
    if first.skipinitialspace:
        notes.append("header separated by ', ' (Download History)")
    if "status" not in index and layout.variant != "statement":
        notes.append("no Status column: statuses are 'other'")
    profile = FileProfile(
        format_id=FORMAT_ID,
        encoding=encoding.name,
        encoding_source=encoding.source,
        delimiter=first.delimiter,
        header_line=first.header.line,
        variant=layout.variant,
        language=layout.language,
        columns=tuple((f, layout.header.names[i]) for f, i in sorted(index.items())),
        date_order=order,
        date_order_source=order_how,
        decimal_mark=mark,
        decimal_mark_source=mark_how,
        timezone=options.timezone,
        currency=options.currency if "currency" not in index else None,
        notes=tuple(notes),
    )
    return profile, encoding, layout


def inspect(stream: BinaryIO, filename: str, options: ReadOptions) -> FileProfile:
    """Decide how to read the file (first pass) and say so.

    Args:
        stream: the export, a seekable binary file object.
        filename: the name errors will carry.
        options: what the caller says about the file.

    Raises:
        InputError: a fatal problem before any line (encoding, header,
            missing column, undecidable date order or decimal mark).
    """
    return _inspect(stream, filename, options)[0]


def extract(stream: BinaryIO, filename: str, options: ReadOptions) -> Iterator[ParsedLine]:
    """Yield one :class:`ParsedLine` per record of a PayPal export.

    Lines that parse are yielded as they come; errors are collected (up to
    ``options.max_errors``) and raised once after the last line.

    Args:
        stream: the export, a seekable binary file object (read twice).
        filename: the name errors will carry.
        options: what the caller says about the file.

    Raises:
        InputError: a fatal problem before any line (see :func:`inspect`).
        InputErrors: problems in records, raised after the last one.
    """
    profile, encoding, layout = _inspect(stream, filename, options)
    sink = ErrorSink(filename, options.max_errors)
    csv_file = CsvFile(stream, filename, encoding, sink)  # the same header, read again
    rows = _Rows(layout, profile, options)
    for line, row in csv_file.rows():
        try:
            parsed = rows.parse(line, row)
        except CellError as exc:
            sink.add(line, exc.column, exc.message)
            continue
        yield parsed
    sink.raise_if_any()


class _Rows:
    """Turns one record into a ParsedLine with the file's decided settings.

    Hot path (a million lines): column indexes are attributes, and dates,
    times, zones, amounts, types and statuses are looked up in small caches
    keyed by the cell text, which repeats from line to line.
    """

    def __init__(self, layout: _Layout, profile: FileProfile, options: ReadOptions) -> None:
        index = layout.index
        get = index.get
        self.col = {f: layout.column(f) for f in tables.HEADERS}
        self.names = layout.header.names
        self.statement = layout.variant == "statement"
        self.i_date, self.i_time, self.i_zone = index["date"], index["time"], get("timezone")
        # _layout guarantees a type (or description) and a gross (or amount)
        # column, and a currency column unless options.currency is given.
        self.i_currency, self.i_balance = index.get("currency", -1), get("balance")
        self.single_amount = "gross" not in index
        self.i_gross = index["amount"] if self.single_amount else index["gross"]
        self.i_fee, self.i_net = get("fee"), get("net")
        self.i_type = index["type"] if "type" in index else index["description"]
        self.i_status, self.i_impact = get("status"), get("balance_impact")
        self.i_from, self.i_name, self.i_id, self.i_ref = (
            get("from_email"),
            get("name"),
            get("transaction_id"),
            get("reference_id"),
        )
        # Outgoing lines name the payee in To. A statement has one e-mail column,
        # the other party's; in an activity file From is the group itself.
        self.i_to = get("to_email", self.i_from if self.statement else None)
        self.dates = DateParser(profile.date_order or "dmy")
        self.amounts = AmountParser(profile.decimal_mark)
        self.zones = ZoneCache(options.timezone)
        self.fixed_currency = (
            normalise_currency(options.currency)
            if ("currency" not in index and options.currency)
            else None
        )
        readable = sorted(i for f, i in index.items() if f in READABLE_FIELDS)
        # Readable pairs are picked out of the raw pairs: no second tuple per cell.
        pick = itemgetter(*readable)
        self.readable: Callable[[tuple[tuple[str, str], ...]], tuple[tuple[str, str], ...]] = (
            pick if len(readable) > 1 else lambda raw: (pick(raw),)
        )
        self.texts = tuple((label, index[f]) for label, f in TEXT_FIELDS if f in index)
        self._bases: dict[tuple[str, str], datetime | tuple[date, Zone]] = {}
        self._types: dict[str, tuple[LineKind, bool]] = {}
        self._statuses: dict[str, LineStatus] = {}
        self._impacts: dict[str, bool] = {}
        label_cols = [
            i
            for i in (self.i_currency, self.i_type, self.i_status, self.i_impact)
            if i is not None and i >= 0
        ]
        self._label_cells = itemgetter(*label_cols, label_cols[0])  # always a tuple
        self._label_cache: dict[tuple[str, ...], tuple[str, LineKind, bool, LineStatus]] = {}
        amount_cols = [i for i in (self.i_gross, self.i_fee, self.i_net) if i is not None]
        self._amount_cells = itemgetter(*amount_cols, amount_cols[0])  # always a tuple
        self._triples: dict[tuple[str, ...], tuple[Decimal, Decimal, Decimal]] = {}

    def _when(self, row: list[str]) -> datetime:
        zone_text = row[self.i_zone] if self.i_zone is not None else ""
        key = (row[self.i_date], zone_text)
        base = self._bases.get(key)
        if base is None:
            day = self.dates.parse(key[0], self.col["date"])
            try:
                zone = self.zones.get(zone_text, day.year)
            except ZoneError as exc:
                raise CellError(self.col["timezone"], str(exc)) from None
            if zone.offset is not None:
                base = datetime(day.year, day.month, day.day, tzinfo=UTC) - zone.offset
            else:
                base = (day, zone)
            if len(self._bases) >= 8192:
                self._bases.clear()
            self._bases[key] = base
        time_text = row[self.i_time]
        delta = None
        if len(time_text) == 8 and time_text[2] == ":" == time_text[5]:
            # PayPal writes HH:MM:SS; read it without a regex, checked like one.
            h, m, sec = _TWO.get(time_text[:2]), _TWO.get(time_text[3:5]), _TWO.get(time_text[6:])
            if h is not None and m is not None and sec is not None and h < 24 and m < 60 > sec:
                delta = timedelta(seconds=h * 3600 + m * 60 + sec)
        if delta is None:
            clock = parse_time(time_text, self.col["time"])
            delta = timedelta(hours=clock.hour, minutes=clock.minute, seconds=clock.second)
        if isinstance(base, datetime):
            return base + delta
        day, zone = base
        try:
            return zone.to_utc(datetime(day.year, day.month, day.day) + delta)
        except ZoneError as exc:
            raise CellError(self.col["timezone"], str(exc)) from None

    def _type(self, text: str, row: list[str]) -> tuple[LineKind, bool]:
        """The line's kind and whether it moves the balance."""
        hit = self._types.get(text)
        if hit is None:
            k = tables.key(text)
            hit = (tables.TYPE_KINDS.get(k, LineKind.OTHER), k not in tables.MEMO_TYPES)
            if len(self._types) < 4096:
                self._types[text] = hit
        if self.i_impact is not None:
            text = row[self.i_impact]
            impact = self._impacts.get(text)
            if impact is None:
                if not text.strip():
                    return hit
                impact = tables.IMPACT_VALUES.get(tables.key(text))
                if impact is None:
                    raise CellError(self.col["balance_impact"], _("unknown balance impact"))
                if len(self._impacts) < 64:
                    self._impacts[text] = impact
            return hit[0], impact
        return hit

    def _status(self, row: list[str]) -> LineStatus:
        if self.i_status is None:
            return LineStatus.COMPLETED if self.statement else LineStatus.OTHER
        text = row[self.i_status]
        status = self._statuses.get(text)
        if status is None:
            status = tables.STATUS_VALUES.get(tables.key(text), LineStatus.OTHER)
            if len(self._statuses) < 4096:
                self._statuses[text] = status
        return status

    def _labels(self, row: list[str]) -> tuple[str, LineKind, bool, LineStatus]:
        """Currency, kind, balance effect and status: from the cells that repeat."""
        currency = self.fixed_currency or self.amounts.currency(
            row[self.i_currency], self.col["currency"]
        )
        kind, affects = self._type(row[self.i_type], row)
        return currency, kind, affects, self._status(row)

    def parse(self, line: int, row: list[str]) -> ParsedLine:
        """The ParsedLine of one record, or :class:`CellError`."""
        # Fast path: a date+zone seen before (a fixed offset) and an HH:MM:SS time.
        i_zone = self.i_zone
        base = self._bases.get((row[self.i_date], row[i_zone] if i_zone is not None else ""))
        clock = row[self.i_time]
        occurred = None
        if isinstance(base, datetime) and len(clock) == 8 and clock[2] == ":" == clock[5]:
            h, m, sec = _TWO.get(clock[:2]), _TWO.get(clock[3:5]), _TWO.get(clock[6:])
            if h is not None and m is not None and sec is not None and h < 24 and m < 60 > sec:
                occurred = base + timedelta(seconds=h * 3600 + m * 60 + sec)
        if occurred is None:
            occurred = self._when(row)
        # Currency, type, status and impact repeat: one lookup for all four.
        key = tuple(self._label_cells(row))
        labels = self._label_cache.get(key)
        if labels is None:
            labels = self._labels(row)
            if len(self._label_cache) >= 4096:
                self._label_cache.clear()
            self._label_cache[key] = labels
        currency, kind, affects, status = labels
        gross, fee, net = self._amounts(row, currency)
        balance = None
        if self.i_balance is not None:
            text = row[self.i_balance].strip()
            if text and text != "...":
                balance = self.amounts.parse_unique(text, currency, self.col["balance"])
        party_i = self.i_from if gross >= 0 else self.i_to
        party = row[party_i].strip() if party_i is not None else ""
        if not party and self.i_name is not None:
            party = row[self.i_name].strip()
        raw = tuple(zip(self.names, row, strict=False))
        i_id, i_ref = self.i_id, self.i_ref
        return ParsedLine(
            line_no=line,
            kind=kind,
            status=status,
            occurred_at=occurred,
            currency=currency,
            gross=gross,
            fee=fee,
            net=net,
            provider=PROVIDER,
            affects_balance=affects,
            balance=balance,
            external_id=(row[i_id].strip() or None) if i_id is not None else None,
            reference_id=(row[i_ref].strip() or None) if i_ref is not None else None,
            counterparty=party or None,
            provider_type=row[self.i_type],
            texts=tuple(
                [(label, row[i]) for label, i in self.texts if row[i] and not row[i].isspace()]
            ),
            readable=self.readable(raw),
            raw=raw,
        )

    def _amounts(self, row: list[str], currency: str) -> tuple[Decimal, Decimal, Decimal]:
        """Gross, fee (what PayPal kept) and net; cached by the cells' text.

        Donations of a few usual sizes under one fee schedule repeat the same
        three cells line after line; only successes are cached.
        """
        key = (currency, *self._amount_cells(row))
        hit = self._triples.get(key)
        if hit is None:
            hit = self._compute_amounts(row, currency)
            if len(self._triples) >= 16384:
                self._triples.clear()
            self._triples[key] = hit
        return hit

    def _compute_amounts(self, row: list[str], currency: str) -> tuple[Decimal, Decimal, Decimal]:
        col, parse = self.col, self.amounts.parse_unique
        if self.single_amount:
            gross = parse(row[self.i_gross], currency, col["amount"])
            return gross, gross - gross, gross
        gross = parse(row[self.i_gross], currency, col["gross"])
        fee_i, net_i = self.i_fee, self.i_net
        paypal_fee = (
            parse(row[fee_i], currency, col["fee"])
            if (fee_i is not None and row[fee_i].strip())
            else None
        )
        net = parse(row[net_i], currency, col["net"]) if net_i is not None else None
        if paypal_fee is None:
            paypal_fee = net - gross if net is not None else gross - gross
        elif net is not None and gross + paypal_fee != net:
            raise CellError(
                col["net"],
                _(
                    "net %(net)s is not gross %(gross)s plus fee %(fee)s",
                    net=str(net),
                    gross=str(gross),
                    fee=str(paypal_fee),
                ),
            )
        fee = -paypal_fee if paypal_fee else paypal_fee
        return gross, fee, gross - fee
