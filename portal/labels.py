"""Every label people read for an enum value or a file type, in one place.

Forms, views and templates take their words from here, so a value is called the same
everywhere. The labels are lazy: this module is imported without a request, and each label is
translated when it is shown. Below the blueprints (it imports only enums).
"""

from __future__ import annotations

from fractions import Fraction

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from portal.domain.onboarding import Step
from portal.domain.permissions import Role
from portal.domain.policy import Action, Item, ItemState, RiskGrade, Rule, Status
from portal.models.clients import ClientKind, ClientStatus
from portal.models.credit import Channel, ContactOutcome, ObligationKind, ReviewKind
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
    DocType.CREDIT_DECISION: _l("Credit decision"),
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

# Credit reviews ------------------------------------------------------------------------------

REVIEW_KIND_LABELS = {
    ReviewKind.NEW_LIMIT: _l("New limit"),
    ReviewKind.LIMIT_INCREASE: _l("Limit increase"),
    ReviewKind.PERIODIC: _l("Periodic review"),
}

REVIEW_STATUS_LABELS = {
    Status.DRAFT: _l("Draft"),
    Status.VERIFICATION: _l("In verification"),
    Status.AWAITING_DECISION: _l("Awaiting decision"),
    Status.APPROVED: _l("Approved"),
    Status.DECLINED: _l("Declined"),
    Status.WITHDRAWN: _l("Withdrawn"),
}

ACTION_LABELS = {
    Action.START_VERIFICATION: _l("Start verification"),
    Action.SUBMIT: _l("Submit for decision"),
    Action.APPROVE: _l("Approve"),
    Action.DECLINE: _l("Decline"),
    Action.REFER_UP: _l("Refer to a manager"),
    Action.SEND_BACK: _l("Send back for more information"),
    Action.WITHDRAW: _l("Withdraw"),
}

ITEM_LABELS = {
    Item.BUREAU: _l("Credit-bureau report"),
    Item.EMPLOYMENT: _l("Employment reference"),
    Item.BANK: _l("Bank reference"),
    Item.LENDERS: _l("Other lenders"),
}

ITEM_STATE_LABELS = {
    ItemState.OPEN: _l("open"),
    ItemState.DONE: _l("done"),
    ItemState.FAILED: _l("not confirmed"),
}

OBLIGATION_KIND_LABELS = {
    ObligationKind.MORTGAGE: _l("Mortgage"),
    ObligationKind.PERSONAL_LOAN: _l("Personal loan"),
    ObligationKind.CAR_LOAN: _l("Car loan"),
    ObligationKind.CREDIT_CARD: _l("Credit card"),
    ObligationKind.OVERDRAFT: _l("Overdraft"),
    ObligationKind.OTHER: _l("Other"),
}

CHANNEL_LABELS = {
    Channel.PHONE: lazy_pgettext("contact channel", "Phone"),
    Channel.EMAIL: lazy_pgettext("contact channel", "E-mail"),
    Channel.LETTER: lazy_pgettext("contact channel", "Letter"),
}

CONTACT_OUTCOME_LABELS = {
    ContactOutcome.CONFIRMED: _l("Confirmed"),
    ContactOutcome.NOT_CONFIRMED: _l("Not confirmed"),
    ContactOutcome.NO_ANSWER: _l("No answer"),
}

RISK_GRADE_LABELS = {
    RiskGrade.HIGH: _l("High risk"),
    RiskGrade.MEDIUM: _l("Medium risk"),
    RiskGrade.LOW: _l("Low risk"),
}

RULE_LABELS = {
    Rule.DTI: _l("Debt-to-income ratio"),
    Rule.SCORE: _l("Credit-bureau score"),
    Rule.BUREAU_AGE: _l("Age of the bureau report"),
    Rule.INCOME_MULTIPLE: _l("Limit as a multiple of income"),
    Rule.RESIDUAL: _l("Income left after debt payments"),
    Rule.VERIFICATION: _l("Required verification"),
}


def _fraction(value) -> Fraction | None:
    """Read a rule's figure: a Fraction, an int, or a stored "n/d" string."""
    if value is None:
        return None
    return value if isinstance(value, Fraction) else Fraction(value)


def percent(value, places: int = 1) -> str:
    """Format a ratio as a percentage with up to ``places`` decimals, in the user's locale:
    ``42,5%`` in Hungarian, ``42.5%`` in English (CLDR's percent pattern of both languages puts
    the sign right after the number, as the decision document does)."""
    from babel.numbers import format_decimal

    from portal.i18n import FORMAT_LOCALES, _language

    ratio = _fraction(value)
    if ratio is None:
        return ""
    pattern = "#,##0." + "#" * places if places else "#,##0"
    shown = format_decimal(round(float(ratio * 100), places), format=pattern,
                           locale=FORMAT_LOCALES[_language()])
    return f"{shown}%"


def _percents(value, limit) -> tuple[str, str]:
    """Format a figure and its limit with as many decimals as it takes to tell them apart
    (one forint over a 40% limit is 40,0002%, not "40% over 40%")."""
    for places in (1, 2, 3, 4, 5, 6):
        shown = percent(value, places), percent(limit, places)
        if shown[0] != shown[1] or _fraction(value) == _fraction(limit):
            return shown
    return shown


def policy_note(policy) -> str:
    """Return a credit policy version's note; the first version, which the portal installs,
    says so in the user's language (its stored note is the installer's English)."""
    if policy.version == 1 and policy.created_by_id is None:
        return str(_l("Initial protocol, installed with the portal"))
    return policy.note or ""


def multiple(value) -> str:
    """Format a multiple of income with up to two decimals: ``4,5×``."""
    from portal.i18n import decimal

    ratio = _fraction(value)
    return "" if ratio is None else f"{decimal(round(float(ratio), 2))}×"


def rule_reason(rule: Rule | str, reason: str, value=None, limit=None, items=()) -> str:
    """Say in the current language why a rule passed or failed, with its figures."""
    rule = Rule(rule)
    if reason == "no_income":
        return str(_l("No monthly income is given."))
    if reason == "currency":
        return str(_l("The figures are not all in the review's currency."))
    if reason == "missing":
        if rule is Rule.SCORE:
            return str(_l("No credit-bureau score is entered."))
        return str(_l("No date is entered for the bureau report."))
    if rule is Rule.DTI:
        shown, ceiling = _percents(value, limit)
        if reason == "ok":
            return str(_l("%(value)s is within the %(limit)s maximum.",
                          value=shown, limit=ceiling))
        return str(_l("%(value)s is over the %(limit)s maximum.", value=shown, limit=ceiling))
    if rule is Rule.RESIDUAL:
        shown, floor = _percents(value, limit)
        if reason == "ok":
            return str(_l("%(value)s of income is left; at least %(limit)s must be.",
                          value=shown, limit=floor))
        return str(_l("Only %(value)s of income is left; at least %(limit)s must be.",
                      value=shown, limit=floor))
    if rule is Rule.INCOME_MULTIPLE:
        if reason == "ok":
            return str(_l("The limit is %(value)s monthly income, within the %(limit)s maximum.",
                          value=multiple(value), limit=multiple(limit)))
        return str(_l("The limit is %(value)s monthly income, over the %(limit)s maximum.",
                      value=multiple(value), limit=multiple(limit)))
    if rule is Rule.SCORE:
        if reason == "ok":
            return str(_l("Score %(value)s meets the minimum of %(limit)s.",
                          value=value, limit=limit))
        return str(_l("Score %(value)s is below the minimum of %(limit)s.",
                      value=value, limit=limit))
    if rule is Rule.BUREAU_AGE:
        if reason == "ok":
            return str(_l("The report is %(value)s days old; at most %(limit)s days are allowed.",
                          value=value, limit=limit))
        return str(_l("The report is %(value)s days old; at most %(limit)s days are allowed.",
                      value=value, limit=limit) if value is not None and int(value) >= 0
                   else _l("The report is dated in the future."))
    names = ", ".join(str(ITEM_LABELS[Item(i)]) for i in items)
    if reason == "ok":
        return str(_l("Every required item is verified."))
    if reason == "failed":
        return str(_l("Not confirmed or not yet done: %(items)s.", items=names))
    return str(_l("Not yet done: %(items)s.", items=names))

# Accounts and ledger -------------------------------------------------------------------------

from portal.domain.ledger import EntryKind  # noqa: E402
from portal.models.ledger import AccountStatus, WriteOffStatus  # noqa: E402

ENTRY_KIND_LABELS = {
    EntryKind.CHARGE: _l("Charge"),
    EntryKind.PAYMENT: _l("Payment"),
    EntryKind.FEE: _l("Fee"),
    EntryKind.ADJUSTMENT: _l("Adjustment"),
    EntryKind.WRITE_OFF: _l("Write-off"),
    EntryKind.RECOVERY: _l("Recovery"),
    EntryKind.REVERSAL: _l("Reversal"),
}

ACCOUNT_STATUS_LABELS = {
    AccountStatus.OPEN: lazy_pgettext("account status", "Open"),
    AccountStatus.CLOSED: lazy_pgettext("account status", "Closed"),
}

WRITE_OFF_STATUS_LABELS = {
    WriteOffStatus.PROPOSED: _l("Proposed"),
    WriteOffStatus.APPROVED: lazy_pgettext("write-off status", "Approved"),
    WriteOffStatus.REJECTED: _l("Rejected"),
}

#: Payment methods (``portal.services.ledger.METHODS``).
METHOD_LABELS = {
    "transfer": _l("Bank transfer"),
    "cash": _l("Cash"),
    "card": _l("Card"),
    "other": lazy_pgettext("payment method", "Other"),
}

# Bank statement lines (payments import) --------------------------------------------------

from portal.models.banking import LineStatus  # noqa: E402

LINE_STATUS_LABELS = {
    LineStatus.MATCHED: _l("Matched, to confirm"),
    LineStatus.UNMATCHED: _l("Unmatched"),
    LineStatus.RECORDED: _l("Recorded"),
    LineStatus.IGNORED: _l("Set aside"),
}

#: Why a statement line waits to be assigned by hand (``StatementLine.reason``).
LINE_REASON_LABELS = {
    "no_account": _l("No account number found in the reference"),
    "currency": _l("The account is in another currency"),
    "closed": _l("The account is closed"),
    "ignored": _l("Set aside"),
    "reversal": _l("The bank took back this payment"),
    "reversal_unknown": _l("The bank took back a payment that is not found here: reverse it "
                           "on the account page, then set this line aside"),
    "bank_reversal": _l("The bank booked this as a reversal, not as a client's payment"),
    "reversed": _l("Taken back by the bank before it was recorded"),
    "reversed_already": _l("The payment had been reversed already"),
}

# Audit log ----------------------------------------------------------------------------------

#: Every action the audit log records (``portal.services.audit.record``), as done: the log's
#: "Action" column and its filter. A test finds each action recorded in the code here.
AUDIT_ACTION_LABELS = {
    "auth.login": _l("Logged in"),
    "auth.logout": _l("Logged out"),
    "auth.login_failed": _l("Failed login"),
    "auth.password_failed": _l("Wrong current password"),
    "auth.password_change": _l("Changed own password"),
    "user.create": _l("User created"),
    "user.update": _l("User changed"),
    "user.password_reset": _l("Password reset by an administrator"),
    "user.language": _l("Language chosen"),
    "client.view": _l("Restricted client viewed"),
    "client.view_denied": _l("Client refused (restricted)"),
    "client.create": _l("Client created"),
    "client.update": _l("Client changed"),
    "client.credit_limit": _l("Credit limit set"),
    "onboarding.tick": _l("Onboarding item ticked"),
    "onboarding.untick": _l("Onboarding item unticked"),
    "document.upload": _l("Document filed"),
    "document.version": _l("New version of a document"),
    "document.view": _l("Document viewed"),
    "document.open": _l("Document opened"),
    "document.download": _l("Document downloaded"),
    "document.trash": _l("Document moved to the trash"),
    "document.restore": _l("Document restored from the trash"),
    "document.purge": _l("Document deleted for good"),
    "document.update": _l("Document details changed"),
    "policy.save": _l("Credit policy saved"),
    "review.view": _l("Credit review viewed"),
    "review.open": _l("Credit review opened"),
    "review.update": _l("Credit review changed"),
    "review.bureau": _l("Bureau report recorded"),
    "review.evidence": _l("Evidence attached"),
    "review.contact": _l("Reference contact logged"),
    "review.start_verification": _l("Verification started"),
    "review.submit": _l("Submitted for decision"),
    "review.withdraw": _l("Credit review withdrawn"),
    "review.approve": _l("Credit review approved"),
    "review.decline": _l("Credit review declined"),
    "review.refer_up": _l("Referred to a manager"),
    "review.send_back": _l("Sent back for more information"),
    "account.open": _l("Account opened"),
    "account.view": _l("Account of a restricted client viewed"),
    "account.limit": _l("Account limit set"),
    "account.close": _l("Account closed"),
    "account.reopen": _l("Account reopened"),
    "ledger.charge": _l("Charge booked"),
    "ledger.payment": _l("Payment recorded"),
    "ledger.fee": _l("Fee booked"),
    "ledger.adjustment": _l("Adjustment booked"),
    "ledger.write_off": _l("Write-off booked"),
    "ledger.recovery": _l("Recovery recorded"),
    "ledger.reversal": _l("Entry reversed"),
    "write_off.propose": _l("Write-off proposed"),
    "write_off.approve": _l("Write-off approved"),
    "write_off.reject": _l("Write-off rejected"),
    "statement.import": _l("Bank statement imported"),
    "statement.ignore": _l("Statement line set aside"),
    "statement.reversed": _l("Statement line taken back by the bank"),
}

#: The words for the keys of an audit row's details, as the forms call the fields. A key
#: that means something else in one area is looked up as ``"<area>.<key>"`` first (the area
#: is the action's first part: ``client.language`` before ``language``).
AUDIT_FIELD_LABELS = {
    # Clients (the client form)
    "client.kind": _l("Kind"),
    "name": _l("Name"),
    "tax_id": _l("Tax ID or tax number"),
    "postal_code": _l("Postal code"),
    "city": _l("City"),
    "street": _l("Street address"),
    "phone": _l("Phone"),
    "email": _l("E-mail"),
    "employer": _l("Employer"),
    "income_minor": _l("Monthly income"),
    "income_currency": _l("Currency of the income"),
    "client.status": _l("Status"),
    "client.language": _l("Language of letters and decisions"),
    "coordinator_id": _l("Coordinator"),
    "restricted": _l("Restricted"),
    "registration_number": _l("Company registration number"),
    "revenue_minor": _l("Annual revenue"),
    "credit_limit": _l("Credit limit"),
    "credit_currency": _l("Currency of the credit limit"),
    "risk_grade": _l("Risk grade"),
    "next_review_due": _l("Next periodic review"),
    "step": _l("Checklist item"),
    # Users (the user form)
    "full_name": _l("Full name"),
    "role": _l("Role"),
    "active": _l("Active (may log in)"),
    "language": _l("Language"),
    "throttled": _l("Refused: too many attempts"),
    "retry_after": _l("Next try allowed after"),
    # Documents
    "file": _l("File"),
    "size": _l("Size"),
    "type": _l("Document type"),
    "text": _l("Text"),
    "version": _l("Version"),
    "document": _l("Document"),
    "doc_type": _l("Document type"),
    "title": _l("Title"),
    "tags": _l("Tags"),
    "doc_date": _l("Document date"),
    # Credit reviews and the policy
    "review.kind": _l("Kind of review"),
    "requested": _l("Requested limit"),
    "currency": _l("Currency"),
    "purpose": _l("Purpose"),
    "monthly_income": _l("Gross monthly income"),
    "obligations": _l("Obligations"),
    "score": _l("Score"),
    "report_date": _l("Report date"),
    "item": _l("Verification item"),
    "channel": _l("Channel"),
    "outcome": _l("Outcome"),
    "with": _l("Whom"),
    "to": _l("Sent to"),
    "approved": _l("Limit granted"),
    "policy_version": _l("Policy version"),
    "failed_rules": _l("Rules not met"),
    "review": _l("Credit review"),
    "effective_from": _l("In force from"),
    "max_dti_bp": _l("Largest debt-to-income ratio (%)"),
    "min_bureau_score": _l("Lowest credit-bureau score"),
    "max_income_multiple_x100": _l("Largest limit, as a multiple of monthly income"),
    "min_residual_bp": _l("Minimum share of income left after all debt payments (%)"),
    "bureau_max_age_days": _l("Oldest bureau report accepted (days)"),
    "required_items": _l("Verification required before a decision"),
    "authority": _l("Approval authority"),
    "review_months": _l("Periodic review after (months)"),
    # Accounts, ledger, write-offs, bank statements
    "account": _l("Account"),
    "limit": _l("Credit limit"),
    "opened_on": _l("Opened on"),
    "closed_on": _l("Closed on"),
    "entry": _l("Entry"),
    "amount": _l("Amount"),
    "booked_on": _l("Booked on"),
    "due_on": _l("Due on"),
    "reverses": _l("Reverses entry"),
    "reference": _l("Reference"),
    "note": _l("Note"),
    "reason": _l("Reason"),
    "write_off": _l("Write-off"),
    "format": _l("Format"),
    "new": _l("New lines"),
    "known": _l("Imported before"),
    "debits": _l("Debits left out"),
    "errors": _l("Rows not read"),
    "matched": _l("Matched, to confirm"),
    "reversals": _l("Reversals by the bank"),
    "reversal": _l("Reversal"),
}
