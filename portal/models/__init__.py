"""ORM models, one module per aggregate. Importing this package registers every table."""

from portal.domain.ledger import EntryKind
from portal.domain.onboarding import Step
from portal.models.audit import AuditEvent
from portal.models.banking import BankMapping, LineStatus, StatementImport, StatementLine
from portal.models.clients import Client, ClientKind, ClientStatus, OnboardingStep
from portal.models.credit import (
    Channel,
    ContactOutcome,
    CreditDecision,
    CreditPolicy,
    CreditReview,
    Evidence,
    Obligation,
    ObligationKind,
    ReferenceContact,
    ReviewKind,
)
from portal.models.documents import (
    DocType,
    Document,
    DocumentVersion,
    IndexTask,
    StoredFile,
    TextStatus,
)
from portal.models.ledger import Account, AccountStatus, LedgerEntry, WriteOff
from portal.models.users import User, UserSession
from portal.models.versions import DataVersion

__all__ = [
    "BankMapping",
    "LineStatus",
    "StatementImport",
    "StatementLine",
    "Account",
    "AccountStatus",
    "EntryKind",
    "LedgerEntry",
    "WriteOff",
    "AuditEvent",
    "Channel",
    "ContactOutcome",
    "CreditDecision",
    "CreditPolicy",
    "CreditReview",
    "DataVersion",
    "Evidence",
    "Obligation",
    "ObligationKind",
    "ReferenceContact",
    "ReviewKind",
    "Client",
    "ClientKind",
    "ClientStatus",
    "DocType",
    "Document",
    "DocumentVersion",
    "IndexTask",
    "OnboardingStep",
    "Step",
    "StoredFile",
    "TextStatus",
    "User",
    "UserSession",
]
