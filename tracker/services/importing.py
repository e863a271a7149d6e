"""Importing provider exports: one ImportBatch per file, all or nothing.

``import_file`` runs the whole use case for one file:

1. hash the file (SHA-256) and pick its format;
2. if this account already committed a file with that hash: ``already_imported``;
3. stage it (:mod:`tracker.services.staging`): parse, hash identity, seal raw
   rows, outside any transaction, so SQLite's write lock is held only for
   step 4;
4. apply it (:mod:`tracker.services.applying`) in one unit of work, book the
   opening balance on an account's first import, verify the batch's own
   invariants (entries balance, donations split by their shares, every line
   moves the asset by its net) and check the provider's running balance
   (:mod:`tracker.services.reconcile`); commit, or roll back for a dry run or
   on any error, leaving the database exactly as it was.

Two imports of the same file racing end with one batch: the unique index on
committed (account, sha256) is the arbiter, and the loser reports
``already_imported``.

May import: services, models, importers, :mod:`tracker.sealing`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker import money
from tracker.errors import InputError, InputErrors, InvariantError
from tracker.i18n import gettext as _
from tracker.importers import ReadOptions
from tracker.models import (
    Account,
    BatchStatus,
    Donation,
    EntryKind,
    ImportBatch,
    JournalEntry,
    LedgerAccount,
    LedgerKind,
    Posting,
    PostingRole,
)
from tracker.dbtypes import utcnow
from tracker.records import Provider
from tracker.services import PAUSE_POINT, audit, unit_of_work
from tracker.services.accounts import create_account
from tracker.services.applying import Applier, Counts
from tracker.services.keys import server_keys
from tracker.services.reconcile import check_running_balances
from tracker.services.staging import Source, StagedFile, choose_format, file_digest, stage_file, summary_of

DEFAULT_ACCOUNT_NAMES = {Provider.PAYPAL: "PayPal", Provider.STRIPE: "Stripe", Provider.BANK: "Bank", Provider.CASH: "Cash box"}


@dataclass
class BatchResult:
    """What happened to one file; :meth:`as_dict` is the CLI's JSON contract."""

    file: str
    status: str
    sha256: str = ""
    format: str = ""
    batch_id: int | None = None
    counts: Counts = field(default_factory=Counts)
    errors: list[InputError] = field(default_factory=list)
    balance_check: dict[str, Any] | None = None
    account: str | None = None
    account_created: bool = False
    assumptions: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the file was accepted (committed, previewed or already there)."""
        return self.status != "rejected"

    def as_dict(self) -> dict[str, Any]:
        """``{batch_id, file, sha256, format, status, counts, errors, balance_check, ...}``."""
        return {
            "batch_id": self.batch_id,
            "file": self.file,
            "sha256": self.sha256,
            "format": self.format,
            "status": self.status,
            "counts": self.counts.as_dict(),
            "errors": [e.as_dict() for e in self.errors],
            "balance_check": self.balance_check,
            "account": self.account,
            "account_created": self.account_created,
            "assumptions": self.assumptions,
            "summary": self.summary,
        }


class _DryRun(Exception):  # noqa: N818 - control flow, not an error
    """Raised inside the unit of work to roll a preview back."""


def _errors_of(exc: InputError | InputErrors) -> tuple[list[InputError], int]:
    if isinstance(exc, InputErrors):
        return list(exc.errors), exc.total
    return [exc], 1


def import_file(
    path: str | Path | Source,
    *,
    name: str | None = None,
    account_name: str | None = None,
    format_id: str = "auto",
    options: ReadOptions | None = None,
    dry_run: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> BatchResult:
    """Import one export file (see the module docstring). Never raises for bad input.

    Args:
        path: the file to read (a path, or a sealed upload).
        name: the file's name as the user knows it (errors carry it).
        account_name: the account; created with the format's kind if unknown.
        format_id: ``auto`` or a registered format id.
        options: reading assumptions the file cannot decide.
        dry_run: preview only; nothing is written.
        progress: called with (phase, done, total) while staging and applying.
    """
    path = Path(path) if isinstance(path, str) else path
    shown = name or path.name
    options = options or ReadOptions()
    sha256, head, size = file_digest(path)
    result = BatchResult(file=shown, status="rejected", sha256=sha256)
    try:
        fmt = choose_format(format_id, head, shown)
    except InputError as exc:
        result.errors, result.counts.rejected = [exc], 1
        return result
    result.format = fmt.FORMAT_ID
    from tracker.extensions import db

    account_name = account_name or DEFAULT_ACCOUNT_NAMES[fmt.PROVIDER]
    result.account = account_name
    session = db.session()
    account = session.scalar(sa.select(Account).where(Account.name == account_name))
    if account is not None and account.kind != fmt.PROVIDER.value:
        result.errors = [InputError(shown, 0, 0, _("account %(account)s is a %(kind)s account, but this is a %(format)s export", account=account_name, kind=account.kind, format=fmt.FORMAT_ID))]
        result.counts.rejected = 1
        session.rollback()
        return result
    if account is not None and (done := _committed_batch(session, account.id, sha256)) is not None:
        session.rollback()
        result.status, result.batch_id = "already_imported", done
        return result
    session.rollback()
    try:
        staged = stage_file(
            path, filename=shown, sha256=sha256, size=size, fmt=fmt, options=options, keys=server_keys(),
            progress=(lambda n: progress("reading", n, 0)) if progress else None,
        )
    except (InputError, InputErrors) as exc:
        result.errors, result.counts.rejected = _errors_of(exc)
        return result
    result.assumptions = staged.profile.as_dict()
    try:
        return _apply(staged, result, account_name, dry_run, progress)
    finally:
        staged.discard()


def _committed_batch(session: Session, account_id: int, sha256: str) -> int | None:
    return session.scalar(
        sa.select(ImportBatch.id).where(
            ImportBatch.account_id == account_id,
            ImportBatch.sha256 == sha256,
            ImportBatch.status == BatchStatus.COMMITTED.value,
        )
    )


def _apply(
    staged: StagedFile,
    result: BatchResult,
    account_name: str,
    dry_run: bool,
    progress: Callable[[str, int, int], None] | None,
) -> BatchResult:
    who = audit.actor()
    try:
        with unit_of_work() as session:
            _lock_account(session, account_name)
            account = session.scalar(sa.select(Account).where(Account.name == account_name))
            if account is None:
                account = create_account(session, account_name, staged.format.PROVIDER)
                result.account_created = True
            elif (done := _committed_batch(session, account.id, staged.sha256)) is not None:
                result.status, result.batch_id = "already_imported", done
                return result
            batch = ImportBatch(
                account_id=account.id,
                filename=staged.filename[:255],
                sha256=staged.sha256,
                format=staged.format.FORMAT_ID,
                status=BatchStatus.COMMITTED.value,
                assumptions=result.assumptions,
                sealed_key=staged.sealed_key,
                created_by=who,
            )
            session.add(batch)
            session.flush()
            session.info[PAUSE_POINT] = True
            result.batch_id = batch.id
            applier = Applier(session, account, batch.id, staged.filename, who)
            done_lines, analyse_at = 0, ANALYZE_FROM_LINES
            for chunk in staged.read_chunks():
                applier.apply_chunk(chunk)
                done_lines += len(chunk)
                if done_lines >= analyse_at:  # each time the batch has doubled (refunds look up earlier gifts)
                    _refresh_statistics(session, done_lines)
                    analyse_at = 2 * done_lines
                if progress:
                    progress("applying", done_lines, staged.lines)
            outcome = applier.outcome
            if outcome.errors:
                raise InputErrors(outcome.errors, total=outcome.counts.rejected)
            applier.finish()
            _refresh_statistics(session, staged.lines)
            openings = applier.opening_balances(staged.edges)
            _verify_batch(session, batch.id, account, outcome.booked_net, applier.transition_entries)
            check = check_running_balances(session, account.asset_ledger_id, staged.edges, staged.read_chunks())
            result.counts = outcome.counts
            result.balance_check = check.as_dict()
            result.summary = {
                **summary_of(staged),
                "tagging": dict(outcome.tagging),
                "review_reasons": dict(outcome.review_reasons),
                "transitions": outcome.transitions,
                "opening_balances": {c: money.to_string(v, c) for c, v in openings.items()},
                "first_import": outcome.first_import,
            }
            batch.count_new, batch.count_updated = outcome.counts.new, outcome.counts.updated
            batch.count_duplicate, batch.count_rejected = outcome.counts.duplicate, outcome.counts.rejected
            batch.balance_check = result.balance_check
            batch.summary = result.summary
            batch.committed_at = utcnow()
            audit.record(
                session, "import.commit", "import_batch", batch.id,
                after={"file": staged.filename, "sha256": staged.sha256, "account": account_name, **outcome.counts.as_dict(), "transitions": len(outcome.transitions)},
            )
            if dry_run:
                raise _DryRun
    except _DryRun:
        result.status, result.batch_id = "dry_run", None
        return result
    except (InputError, InputErrors) as exc:
        result.errors, total = _errors_of(exc)
        result.counts = Counts(rejected=total)
        result.status, result.batch_id, result.balance_check = "rejected", None, None
        return result
    except IntegrityError as exc:
        if "uq_import_batches_committed_file" not in str(exc.orig):
            raise
        from tracker.extensions import db

        session = db.session()
        result.status = "already_imported"
        account = session.scalar(sa.select(Account).where(Account.name == account_name))
        result.batch_id = _committed_batch(session, account.id, staged.sha256) if account else None
        session.rollback()
        result.counts = Counts()
        return result
    result.status = "committed"
    return result


def _lock_account(session: Session, account_name: str) -> None:
    """One import per account at a time on PostgreSQL (SQLite's BEGIN IMMEDIATE already is).

    Imports into the same account then never interleave their line locks, so
    overlapping exports racing queue instead of deadlocking; the unique
    constraints still decide what is new.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(f"import:{account_name}".encode()).digest()[:8], "big", signed=True)
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


#: From this many lines on, PostgreSQL's statistics are refreshed before the checks.
ANALYZE_FROM_LINES = 10_000
#: The tables a batch writes to in bulk, whose row counts it may change by orders of magnitude.
_BULK_TABLES = ("statement_lines", "raw_rows", "donations", "journal_entries", "postings")


def _refresh_statistics(session: Session, lines: int) -> None:
    """Let PostgreSQL's planner see the rows this transaction has just written.

    Autovacuum only analyses a table after the rows are committed (and not
    at all where it is off), so the batch's own queries would otherwise be
    planned for the tables' old sizes: a first import of 200k lines into an
    empty database sat in its grouped checks for more than 40 minutes (345 s
    in all with this), and at 1M lines the look-ups of earlier gifts for
    refunds became parallel seq scans of every posting, a second each.
    ``ANALYZE`` inside the transaction samples its own new rows too (a few
    hundred milliseconds per table); the import runs it each time the batch
    has doubled from :data:`ANALYZE_FROM_LINES` lines, and before its
    checks. Small batches do not change the plans; SQLite plans from its
    indexes alone.
    """
    if lines < ANALYZE_FROM_LINES or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(sa.text("ANALYZE " + ", ".join(_BULK_TABLES)))


def _verify_batch(
    session: Session,
    batch_id: int,
    account: Account,
    booked_net: dict[str, Any],
    transition_entries: list[int],
) -> None:
    """The batch's own invariants, checked before commit (assertions stay on)."""
    problems: list[str] = []
    unbalanced = session.execute(
        sa.select(Posting.entry_id, Posting.currency)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.batch_id == batch_id)
        .group_by(Posting.entry_id, Posting.currency)
        .having(sa.func.sum(sa.type_coerce(Posting.amount, sa.BigInteger)) != 0)
    ).all()
    problems += [f"entry {e} does not balance in {c}" for e, c in unbalanced]
    moved = dict(
        session.execute(
            sa.select(Posting.currency, sa.func.sum(Posting.amount))
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(
                JournalEntry.batch_id == batch_id,
                Posting.ledger_account_id == account.asset_ledger_id,
                JournalEntry.kind != EntryKind.OPENING_BALANCE.value,
                JournalEntry.id.not_in(transition_entries or [-1]),
            )
            .group_by(Posting.currency)
        ).tuples().all()
    )
    for currency in set(moved) | set(booked_net):
        if moved.get(currency, money.ZERO) != booked_net.get(currency, money.ZERO):
            problems.append(
                f"the batch moved {moved.get(currency, money.ZERO)} {currency} on the account, "
                f"its booked lines net to {booked_net.get(currency, money.ZERO)}"
            )
    # Each donation's funds together got exactly its gross and paid exactly
    # its fee (the full split check is tracker check's: it re-derives shares).
    raw = sa.type_coerce
    gross_sum = sa.func.sum(sa.case((Posting.role == PostingRole.GROSS.value, raw(Posting.amount, sa.BigInteger)), else_=0))
    fee_sum = sa.func.sum(sa.case((Posting.role == PostingRole.FEE.value, raw(Posting.amount, sa.BigInteger)), else_=0))
    off = session.execute(
        sa.select(Donation.id)
        .join(JournalEntry, JournalEntry.donation_id == Donation.id)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.ledger_account_id)
        .where(
            JournalEntry.batch_id == batch_id,
            JournalEntry.kind == EntryKind.DONATION.value,
            LedgerAccount.kind == LedgerKind.FUND.value,
        )
        .group_by(Donation.id, Donation.gross, Donation.fee)
        .having(sa.or_(gross_sum != -raw(Donation.gross, sa.BigInteger), fee_sum != raw(Donation.fee, sa.BigInteger)))
        .limit(10)
    ).scalars().all()
    problems += [f"donation {d} is not allocated in full to its funds" for d in off]
    if problems:
        raise InvariantError("the import was refused before commit: " + "; ".join(problems[:10]))

