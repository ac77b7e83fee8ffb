"""ORM models, one module per aggregate. Importing this package registers every table."""

from portal.domain.onboarding import Step
from portal.models.audit import AuditEvent
from portal.models.clients import Client, ClientKind, ClientStatus, OnboardingStep
from portal.models.users import User, UserSession

__all__ = [
    "AuditEvent",
    "Client",
    "ClientKind",
    "ClientStatus",
    "OnboardingStep",
    "Step",
    "User",
    "UserSession",
]
