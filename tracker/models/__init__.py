"""Typed SQLAlchemy models, one module per aggregate.

Importing this package registers every table on ``db.metadata``.
"""

from __future__ import annotations

from tracker.models.audit import AuditEvent
from tracker.models.campaigns import (
    AllocationNote,
    Campaign,
    CampaignPrisoner,
    Prisoner,
    RuleKind,
    TagChoice,
    TagRule,
)
from tracker.models.events import Event
from tracker.models.jobs import Job, JobKind, JobStatus, Upload, UploadChunk
from tracker.models.ledger import (
    Balance,
    Destination,
    Disbursement,
    DisbursementCategory,
    Donation,
    DonationOrigin,
    DonationTotal,
    EntryKind,
    Fund,
    FundKind,
    JournalEntry,
    LedgerAccount,
    LedgerKind,
    OpenReviewItem,
    Posting,
    PostingRole,
)
from tracker.models.publications import (
    Publication,
    PublicationCell,
    PublicationKind,
    PublishedDonation,
    Setting,
)
from tracker.models.statements import (
    Account,
    BatchStatus,
    ImportBatch,
    RawRow,
    StatementLine,
    StatementLineVersion,
)
from tracker.models.users import PasswordToken, RecoveryCode, Role, User, UserSession

__all__ = [
    "Account",
    "AllocationNote",
    "AuditEvent",
    "Balance",
    "DonationTotal",
    "OpenReviewItem",
    "BatchStatus",
    "Campaign",
    "CampaignPrisoner",
    "Destination",
    "Disbursement",
    "DisbursementCategory",
    "Donation",
    "DonationOrigin",
    "EntryKind",
    "Event",
    "Fund",
    "FundKind",
    "ImportBatch",
    "Job",
    "JobKind",
    "JobStatus",
    "JournalEntry",
    "LedgerAccount",
    "LedgerKind",
    "Posting",
    "PostingRole",
    "Prisoner",
    "Publication",
    "PublicationCell",
    "PublicationKind",
    "PublishedDonation",
    "RawRow",
    "PasswordToken",
    "RecoveryCode",
    "Role",
    "RuleKind",
    "Setting",
    "StatementLine",
    "StatementLineVersion",
    "Upload",
    "UploadChunk",
    "TagChoice",
    "TagRule",
    "User",
    "UserSession",
]
