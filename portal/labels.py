"""Every label people read for an enum value or a file type, in one place.

Forms, views and templates take their words from here, so a value is called the same
everywhere. The labels are lazy: this module is imported without a request, and each label is
translated when it is shown. Below the blueprints (it imports only enums).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from portal.domain.onboarding import Step
from portal.domain.permissions import Role
from portal.models.clients import ClientKind, ClientStatus
from portal.models.documents import DocType, TextStatus

ROLE_LABELS = {
    Role.CLERK: _l("Clerk"),
    Role.COORDINATOR: _l("Coordinator"),
    Role.MANAGER: _l("Manager"),
    Role.ADMIN: _l("Administrator"),
}

KIND_LABELS = {ClientKind.PERSON: _l("Person"), ClientKind.COMPANY: _l("Company")}

STATUS_LABELS = {
    ClientStatus.PROSPECT: _l("Prospect"),
    ClientStatus.ONBOARDING: lazy_pgettext("client status", "Onboarding"),
    ClientStatus.ACTIVE: _l("Active"),
    ClientStatus.CLOSED: _l("Closed"),
}

STEP_LABELS = {
    Step.IDENTITY_VERIFIED: _l("Identity verified"),
    Step.CONTRACT_SIGNED: _l("Contract signed"),
    Step.CREDIT_REVIEW_DONE: _l("Credit review done"),
    Step.ACCOUNT_OPENED: _l("Account opened"),
}

TYPE_LABELS = {
    DocType.CREDIT_REPORT: _l("Credit report"),
    DocType.IDENTITY: _l("Identity document"),
    DocType.CONTRACT: _l("Contract"),
    DocType.BANK_STATEMENT: _l("Bank statement"),
    DocType.INCOME_PROOF: _l("Income proof"),
    DocType.CORRESPONDENCE: _l("Correspondence"),
    DocType.AGREEMENT: _l("Agreement"),
    DocType.OTHER: _l("Other"),
}

TEXT_STATUS_LABELS = {
    TextStatus.TEXT: _l("text"),
    TextStatus.NO_TEXT: _l("no text"),
    TextStatus.ENCRYPTED: _l("encrypted, no text"),
}

#: The accepted file types by MIME type (see ``portal.filing.sniff``).
MIME_LABELS = {
    "application/pdf": "PDF",
    "image/png": _l("PNG image"),
    "image/jpeg": _l("JPEG image"),
    "image/tiff": _l("TIFF image"),
    "text/plain": _l("plain text"),
}
