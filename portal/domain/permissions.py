"""Roles and what each may do (DESIGN.md section 2).

Every view declares one permission; the request hook checks it against the user's role.
Admins manage the system but see no client data through that role.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CLERK = "clerk"
    COORDINATOR = "coordinator"
    MANAGER = "manager"
    ADMIN = "admin"


class Perm(StrEnum):
    #: Anyone, logged in or not (login page, health check, static files).
    PUBLIC = "public"
    #: Any logged-in user (own account, own language, logout).
    AUTHENTICATED = "authenticated"
    CLIENTS_VIEW = "clients.view"
    CLIENTS_EDIT = "clients.edit"
    #: Assign a coordinator and set the restricted flag.
    CLIENTS_ASSIGN = "clients.assign"
    ONBOARDING_TICK = "onboarding.tick"
    TAX_ID_UNMASKED = "clients.tax_id"
    CLIENTS_SEE_ALL_RESTRICTED = "clients.restricted_all"
    DOCUMENTS_VIEW = "documents.view"
    DOCUMENTS_FILE = "documents.file"
    #: Restore from the trash and empty it.
    DOCUMENTS_TRASH = "documents.trash"
    AUDIT_VIEW = "audit.view"
    USERS_MANAGE = "users.manage"
    #: Read credit reviews (of the clients one sees) and the credit policy.
    REVIEWS_VIEW = "reviews.view"
    #: Log a reference contact on a review.
    REVIEWS_CONTACT = "reviews.contact"
    #: Open and prepare a review, attach evidence, submit or withdraw it.
    REVIEWS_PREPARE = "reviews.prepare"
    #: Decide a review (within the approval authority the credit policy gives the role).
    REVIEWS_DECIDE = "reviews.decide"
    #: Read the credit policy's versions.
    POLICY_VIEW = "policy.view"
    #: Save a new version of the credit policy.
    POLICY_EDIT = "policy.edit"
    #: See accounts, balances and ledgers (of the clients one sees).
    ACCOUNTS_VIEW = "accounts.view"
    #: Open accounts; record payments, charges, fees, adjustments and reversals; import
    #: bank statements; propose write-offs.
    LEDGER_RECORD = "ledger.record"
    #: Approve or reject a write-off (never one's own proposal).
    WRITE_OFF_APPROVE = "ledger.write_off_approve"
    #: The financial reports (aging, DSO, CEI, write-offs and recoveries).
    REPORTS_VIEW = "reports.view"
    #: The backup folder's snapshots: time, size, verification and age (no client data).
    BACKUPS_VIEW = "backups.view"


_CLERK = {
    Perm.CLIENTS_VIEW, Perm.CLIENTS_EDIT, Perm.ONBOARDING_TICK,
    Perm.DOCUMENTS_VIEW, Perm.DOCUMENTS_FILE,
    Perm.REVIEWS_VIEW, Perm.REVIEWS_CONTACT, Perm.POLICY_VIEW, Perm.ACCOUNTS_VIEW,
}
_COORDINATOR = _CLERK | {
    Perm.TAX_ID_UNMASKED, Perm.CLIENTS_ASSIGN, Perm.REVIEWS_PREPARE, Perm.REVIEWS_DECIDE,
    Perm.LEDGER_RECORD, Perm.REPORTS_VIEW,
}
_MANAGER = _COORDINATOR | {
    Perm.CLIENTS_SEE_ALL_RESTRICTED, Perm.AUDIT_VIEW, Perm.DOCUMENTS_TRASH,
    Perm.WRITE_OFF_APPROVE,
}

GRANTS: dict[Role, frozenset[Perm]] = {
    Role.CLERK: frozenset(_CLERK),
    Role.COORDINATOR: frozenset(_COORDINATOR),
    Role.MANAGER: frozenset(_MANAGER),
    Role.ADMIN: frozenset({Perm.USERS_MANAGE, Perm.POLICY_VIEW, Perm.POLICY_EDIT,
                           Perm.BACKUPS_VIEW}),
}


def allows(role: Role | None, perm: Perm) -> bool:
    """Tell whether a user of ``role`` (None: not logged in) holds ``perm``."""
    if perm is Perm.PUBLIC:
        return True
    if role is None:
        return False
    if perm is Perm.AUTHENTICATED:
        return True
    return perm in GRANTS[role]


def may_see_client(
    role: Role, user_id: int, *, restricted: bool, coordinator_id: int | None
) -> bool:
    """Tell whether a user may see a client: restricted ones only their coordinator and managers."""
    if not allows(role, Perm.CLIENTS_VIEW):
        return False
    if not restricted:
        return True
    if allows(role, Perm.CLIENTS_SEE_ALL_RESTRICTED):
        return True
    return role is Role.COORDINATOR and coordinator_id == user_id
