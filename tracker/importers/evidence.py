"""The first pass: evidence for a file's date order and decimal mark, and the decision.

Per file, never per row (STYLE habit 8): :func:`collect` reads every record
once and feeds the date column and the amount columns to the votes of
:mod:`tracker.importers.cells`; each distinct cell text is weighed once.
:func:`decide_date_order` and :func:`decide_decimal_mark` then turn the votes
(or the caller's options) into the settings the second pass applies strictly,
or stop with an error that names the option to pass (``--date-order``,
``--decimal-mark``). A structural problem ends the evidence where the second
pass will report it.

May import: the standard library, :mod:`tracker.errors`, :mod:`tracker.i18n`,
:mod:`tracker.importers.cells`, :mod:`tracker.importers.reading`.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence

from tracker.errors import InputError
from tracker.i18n import gettext as _
from tracker.importers.cells import DateOrderVote, DecimalMarkVote
from tracker.importers.reading import CsvFile, is_fatal

_SEEN_LIMIT = 100_000  # distinct amount texts remembered at once (memory stays bounded)


def collect(
    csv_file: CsvFile, date_index: int | None, amount_columns: Sequence[tuple[int, str]]
) -> tuple[DateOrderVote, DecimalMarkVote]:
    """Read the rest of ``csv_file`` and vote on its date order and decimal mark.

    Args:
        csv_file: a pass whose header has been read; its records are consumed.
        date_index: the date column, or ``None`` when the date order is given.
        amount_columns: (index, header name) of every amount column, empty
            when the decimal mark is given.

    Returns:
        The two votes (:meth:`~tracker.importers.cells.DateOrderVote.decide`).
    """
    date_vote, mark_vote = DateOrderVote(), DecimalMarkVote()
    if date_index is None and not amount_columns:
        return date_vote, mark_vote  # nothing to decide: no need to read on
    feed_date, feed_mark = date_vote.feed, mark_vote.feed
    dates_seen: set[str] = set()
    amounts_seen: set[str] = set()
    reader, width = csv_file.reader, len(csv_file.header.names)
    end = reader.line_num
    while True:
        try:
            row = next(reader)
        except (StopIteration, InputError):
            break  # the second pass stops at the same place and reports it
        except csv.Error as exc:
            end = reader.line_num
            if is_fatal(str(exc)):
                break
            continue
        start, end = end + 1, reader.line_num
        if len(row) < width:
            continue  # blank or short: the second pass reports it
        if date_index is not None:
            text = row[date_index]
            if text not in dates_seen:
                dates_seen.add(text)
                feed_date(text, start)
        for i, name in amount_columns:
            text = row[i]
            if text not in amounts_seen:
                amounts_seen.add(text)
                feed_mark(text, start, name)
        if date_vote.conclusive and mark_vote.conclusive:
            break
        if len(amounts_seen) > _SEEN_LIMIT:
            amounts_seen.clear()
            dates_seen.clear()
    return date_vote, mark_vote


def decide_date_order(vote: DateOrderVote, option: str | None, filename: str,
                      line: int, column: str) -> tuple[str, str]:  # fmt: skip
    """The file's date order and how it was decided.

    Raises:
        InputError: the dates are all ambiguous, or contradict each other,
            and no ``date_order`` option was given (names ``--date-order``).
    """
    if option:
        return option, "option"
    order, how = vote.decide()
    if order is not None:
        return order, how
    if how == "conflict":
        first = sorted(vote.first.items(), key=lambda kv: kv[1])
        raise InputError(
            filename,
            first[1][1],
            column,
            _(
                "this date is in order %(this)s but line %(line)s is in order %(other)s;"
                " pass --date-order",
                this=first[1][0].upper(),
                line=first[0][1],
                other=first[0][0].upper(),
            ),
        )
    raise InputError(
        filename,
        vote.ambiguous_line or line,
        column,
        _("every date fits both day/month and month/day order; pass --date-order dmy or mdy"),
    )


def decide_decimal_mark(vote: DecimalMarkVote, option: str | None,
                        filename: str, line: int) -> tuple[str, str]:  # fmt: skip
    """The file's decimal mark and how it was decided.

    Raises:
        InputError: the amounts contradict each other or never show their
            decimal mark, and no ``decimal_mark`` option was given.
    """
    if option:
        return option, "option"
    mark, how = vote.decide()
    if mark is not None:
        return mark, how
    if how == "conflict":
        (m1, (l1, _c1)), (m2, (l2, c2)) = sorted(vote.first.items(), key=lambda kv: kv[1][0])
        raise InputError(
            filename,
            l2,
            c2,
            _(
                "this amount has decimal mark '%(this)s' but line %(line)s has '%(other)s';"
                " pass --decimal-mark",
                this=m2,
                line=l1,
                other=m1,
            ),
        )
    raise InputError(
        filename,
        vote.undecided_line or line,
        0,
        _("cannot tell whether ',' or '.' is the decimal mark; pass --decimal-mark"),
    )
