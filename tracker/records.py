"""Plain records passed between layers: parsed lines, tag results.

Frozen dataclasses and string enums only. Importers produce
:class:`ParsedLine`; the tagging engine produces :class:`TagResult`; services
turn them into rows. Nothing here knows Flask or SQLAlchemy.

May import: the standard library.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


class LineKind(enum.StrEnum):
    """What a statement line does to the provider balance (ARCHITECTURE.md)."""

    PAYMENT = "payment"
    REFUND = "refund"
    REVERSAL = "reversal"
    CHARGEBACK = "chargeback"
    FEE = "fee"
    CONVERSION = "conversion"
    TRANSFER = "transfer"
    PAYOUT = "payout"
    HOLD = "hold"
    RELEASE = "release"
    ADJUSTMENT = "adjustment"
    OTHER = "other"


class LineStatus(enum.StrEnum):
    """The provider's status of a line, normalised.

    ``completed`` lines move money; ``pending`` money in waits in the review
    fund; ``denied``, ``cancelled`` and ``failed`` lines are stored, never
    booked; ``reversed`` and ``refunded`` describe an earlier payment whose
    money moves on other lines.
    """

    COMPLETED = "completed"
    PENDING = "pending"
    DENIED = "denied"
    CANCELLED = "cancelled"
    FAILED = "failed"
    REVERSED = "reversed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    OTHER = "other"


class Provider(enum.StrEnum):
    """Kinds of account, which are also the providers tag rules can name."""

    PAYPAL = "paypal"
    STRIPE = "stripe"
    BANK = "bank"
    CASH = "cash"


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One row of a provider export, normalised; identity still in clear.

    Amounts follow one convention everywhere: ``gross`` is signed (money in is
    positive), ``fee`` is what the provider kept (positive when it charged,
    negative when it returned a fee), and ``net = gross - fee`` is the change to
    the provider balance. ``balance`` is the provider's running balance after
    the line, where the export has one.

    ``readable`` holds the columns the importer declares safe to keep in clear
    (amounts, currency, kind, status, time, text tagging searches); ``raw``
    holds every column of the row as read (header name -> cell) and is sealed
    before it is stored (rule 10). ``external_id``, ``reference_id`` and
    ``counterparty`` are identity: they are only ever stored as keyed hashes.
    """

    line_no: int
    kind: LineKind
    status: LineStatus
    occurred_at: datetime
    currency: str
    gross: Decimal
    fee: Decimal
    net: Decimal
    provider: Provider
    affects_balance: bool = True
    balance: Decimal | None = None
    external_id: str | None = None
    reference_id: str | None = None
    counterparty: str | None = None
    provider_type: str = ""
    texts: tuple[tuple[str, str], ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()
    readable: tuple[tuple[str, str], ...] = ()
    raw: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        """Refuse lines whose amounts break ``net = gross - fee``."""
        for name in ("gross", "fee", "net"):
            if not isinstance(getattr(self, name), Decimal):
                raise TypeError(f"{name} must be Decimal")
        if self.gross - self.fee != self.net:
            raise ValueError(f"line {self.line_no}: net must equal gross - fee")
        if self.occurred_at.tzinfo is None:
            raise ValueError(f"line {self.line_no}: occurred_at must be timezone-aware")


class TagOutcome(enum.StrEnum):
    """What tagging decided for a donation."""

    CAMPAIGN = "campaign"
    REVIEW = "review"
    GENERAL = "general"


class TagSource(enum.StrEnum):
    """Why a donation has its campaign (shown to treasurers)."""

    RULE = "rule"
    METADATA = "metadata"
    MANUAL = "manual"
    INHERITED = "inherited"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class TagMatch:
    """One place where a rule matched: which field, which span, which rule."""

    campaign: str
    rule_id: int | None
    field: str
    start: int
    end: int
    text: str
    kind: str = "tag"


@dataclass(frozen=True, slots=True)
class TagResult:
    """The tagging engine's decision for one piece of text.

    ``campaign`` is the tag when ``outcome`` is ``campaign``; ``candidates``
    lists every campaign that matched or nearly matched; ``reason`` says in
    words why a donation waits for review.
    """

    outcome: TagOutcome
    campaign: str | None = None
    source: TagSource = TagSource.NONE
    matches: tuple[TagMatch, ...] = ()
    candidates: tuple[str, ...] = ()
    reason: str = ""

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready description, stored with the donation."""
        return {
            "outcome": self.outcome.value,
            "campaign": self.campaign,
            "source": self.source.value,
            "matches": [
                {
                    "campaign": m.campaign,
                    "rule_id": m.rule_id,
                    "field": m.field,
                    "start": m.start,
                    "end": m.end,
                    "text": m.text,
                    "kind": m.kind,
                }
                for m in self.matches
            ],
            "candidates": list(self.candidates),
            "reason": self.reason,
        }
