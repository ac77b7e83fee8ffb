"""Forms of the credit reviews: the policy, a review's figures with its obligations, the
bureau report, evidence, reference contacts, and the preparer's and decider's actions.

Amounts, percentages and multiples are typed the way people type them ("1 200 000",
"40,5", "4,5×") and read here into integers: money through ``parse_amount`` in the review's
currency, percentages as basis points, multiples as hundredths.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.domain.money import SUPPORTED_CURRENCIES, Money, MoneyError, parse_amount
from portal.domain.permissions import Role
from portal.domain.policy import Item, RiskGrade
from portal.labels import (
    CHANNEL_LABELS,
    CONTACT_OUTCOME_LABELS,
    ITEM_LABELS,
    OBLIGATION_KIND_LABELS,
    REVIEW_KIND_LABELS,
    RISK_GRADE_LABELS,
)
from portal.models.credit import ObligationKind, ReviewKind
from portal.services.reviews import ObligationData, PolicyData, ReviewData

CURRENCY_CHOICES = [SelectChoice(c, c) for c in SUPPORTED_CURRENCIES]
#: The most obligation rows one review form takes.
MAX_OBLIGATIONS = 30


def _choices(table) -> list[SelectChoice]:
    return [SelectChoice(member.value, label) for member, label in table.items()]


# Reading what people type ------------------------------------------------------------------


def parse_scaled(text: str, decimals: int) -> int:
    """Read a non-negative number typed by a person ("40", "40,5", "4.5×", "12 %") as an
    integer count of 10**-decimals units ("40,5" with 2 decimals is 4050).

    Raises ValueError for anything else, or for more decimals than ``decimals``.
    """
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text).rstrip("%×xX").replace(",", ".")
    if not re.fullmatch(r"\d{1,9}(\.\d+)?", cleaned):
        raise ValueError("not a number")
    whole, _, fraction = cleaned.partition(".")
    fraction = fraction.rstrip("0")
    if len(fraction) > decimals:
        raise ValueError("too many decimals")
    return int(whole) * 10**decimals + int(fraction.ljust(decimals, "0") or 0)


def show_scaled(value: int, decimals: int, language: str) -> str:
    """Write an integer count of 10**-decimals units for a form field: 4050 → "40,5"."""
    whole, fraction = divmod(value, 10**decimals)
    digits = str(fraction).rjust(decimals, "0").rstrip("0")
    mark = "," if language == "hu" else "."
    return f"{whole}{mark}{digits}" if digits else str(whole)


def read_money(text: str | None, currency: str) -> Money | None:
    """Return the amount typed in ``currency`` (None when nothing is typed), or raise
    ValueError with the message to show."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        amount = parse_amount(text, currency)
    except MoneyError as exc:
        if str(exc) == "too many decimals":
            raise ValueError(_l("Too many decimals for this currency (forint amounts are "
                                "whole numbers).")) from exc
        if str(exc).startswith("amount is in"):
            raise ValueError(_l("This amount is in another currency than the one chosen."))\
                from exc
        raise ValueError(_l("Enter an amount, e.g. 1,200,000.")) from exc
    if amount.minor < 0:
        raise ValueError(_l("The amount cannot be negative."))
    return amount


def money_of(field, currency: str, *, required: bool = False) -> Money | None:
    """Read a money field in ``currency``; on a problem add a message to the field and return
    None. An empty optional field is None too (the caller decides what that means)."""
    try:
        amount = read_money(field.data, currency)
    except ValueError as exc:
        field.errors.append(exc.args[0])
        return None
    if amount is None and required:
        field.errors.append(_l("Enter an amount."))
    return amount


class Needed:
    """Mark a field as required (the form shows its star) where the form's own code checks
    that it is filled in."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        return None


class ScaledField(StringField):
    """A percentage or multiple typed as text, read into an integer (``.scaled``)."""

    def __init__(self, label=None, validators=None, *, decimals: int = 2, maximum: int,
                 **kwargs) -> None:
        super().__init__(label, [Needed(), *(validators or [])], **kwargs)
        self.decimals = decimals
        self.maximum = maximum
        self.scaled: int | None = None

    def pre_validate(self, form) -> None:
        self.scaled = None
        text = (self.data or "").strip()
        if not text:
            raise ValidationError(_l("Enter a number."))
        try:
            value = parse_scaled(text, self.decimals)
        except ValueError as exc:
            raise ValidationError(_l("Enter a number, e.g. 40 or 40.5.")) from exc
        if value > self.maximum:
            raise ValidationError(_l("This is more than the largest value allowed."))
        self.scaled = value


class OptionalSelectField(SelectField):
    """A select that may be left at its empty first choice, or not sent at all."""

    def pre_validate(self, form) -> None:
        if self.data in (None, ""):
            self.data = ""
            return
        super().pre_validate(form)


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


# The policy --------------------------------------------------------------------------------


class PolicyForm(FlaskForm):
    effective_from = DateField(_l("In force from"), validators=[DataRequired()])
    max_dti = ScaledField(_l("Largest debt-to-income ratio (%)"), maximum=100_00)
    min_bureau_score = IntegerField(_l("Lowest credit-bureau score"),
                                    validators=[InputRequired(), NumberRange(0, 1000)])
    max_income_multiple = ScaledField(_l("Largest limit, as a multiple of monthly income"),
                                      maximum=1000_00)
    min_residual = ScaledField(_l("Minimum share of income left after all debt payments (%)"),
                               maximum=100_00)
    bureau_max_age_days = IntegerField(_l("Oldest bureau report accepted (days)"),
                                       validators=[InputRequired(), NumberRange(1, 3650)])
    required_items = MultiCheckboxField(_l("Verification required before a decision"),
                                        choices=_choices(ITEM_LABELS))
    coordinator_huf = StringField(_l("Coordinator, in HUF"), validators=[Needed()])
    coordinator_eur = StringField(_l("Coordinator, in EUR"), validators=[Needed()])
    manager_huf = StringField(_l("Manager, in HUF"))
    manager_eur = StringField(_l("Manager, in EUR"))
    review_high = IntegerField(_l("High risk"), validators=[InputRequired(), NumberRange(1, 120)])
    review_medium = IntegerField(_l("Medium risk"),
                                 validators=[InputRequired(), NumberRange(1, 120)])
    review_low = IntegerField(_l("Low risk"), validators=[InputRequired(), NumberRange(1, 120)])
    note = StringField(_l("What changed, and why"), validators=[Optional(), Length(max=500)])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        limits = {
            (Role.COORDINATOR, "HUF"): money_of(self.coordinator_huf, "HUF", required=True),
            (Role.COORDINATOR, "EUR"): money_of(self.coordinator_eur, "EUR", required=True),
            (Role.MANAGER, "HUF"): money_of(self.manager_huf, "HUF"),
            (Role.MANAGER, "EUR"): money_of(self.manager_eur, "EUR"),
        }
        self.authority = {role: {} for role in (Role.COORDINATOR, Role.MANAGER)}
        for (role, currency), amount in limits.items():
            self.authority[role][currency] = amount.minor if amount else None
        money_fields = (self.coordinator_huf, self.coordinator_eur, self.manager_huf,
                        self.manager_eur)
        return ok and not any(f.errors for f in money_fields)

    def policy_data(self) -> PolicyData:
        """Return what a valid form says, for ``reviews.save_policy``."""
        return PolicyData(
            effective_from=self.effective_from.data, max_dti_bp=self.max_dti.scaled,
            min_bureau_score=self.min_bureau_score.data,
            max_income_multiple_x100=self.max_income_multiple.scaled,
            min_residual_bp=self.min_residual.scaled,
            bureau_max_age_days=self.bureau_max_age_days.data,
            required_items=frozenset(Item(i) for i in self.required_items.data or []),
            authority=self.authority,
            review_months={RiskGrade.HIGH: self.review_high.data,
                           RiskGrade.MEDIUM: self.review_medium.data,
                           RiskGrade.LOW: self.review_low.data},
            note=self.note.data or "",
        )


# A review's figures ------------------------------------------------------------------------


class ObligationForm(Form):
    """One existing debt of the client: one row of the review form."""

    lender = StringField(_l("Lender"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=_choices(OBLIGATION_KIND_LABELS),
                       default=ObligationKind.PERSONAL_LOAN.value)
    outstanding = StringField(_l("Outstanding balance"))
    monthly_payment = StringField(_l("Monthly payment"))

    def is_blank(self) -> bool:
        """Tell whether the row was left empty (the kind alone does not count)."""
        return not any((f.data or "").strip()
                       for f in (self.lender, self.outstanding, self.monthly_payment))


class ReviewForm(FlaskForm):
    #: Set by ``validate``: what a valid form says, for the review services.
    review_data: ReviewData | None = None
    kind = SelectField(_l("Kind of review"), choices=_choices(REVIEW_KIND_LABELS))
    requested = StringField(_l("Requested limit"), validators=[Needed()])
    currency = SelectField(_l("Currency"), choices=CURRENCY_CHOICES)
    purpose = TextAreaField(_l("Purpose"), validators=[Optional(), Length(max=500)])
    monthly_income = StringField(_l("Gross monthly income"))
    obligations = FieldList(FormField(ObligationForm), max_entries=MAX_OBLIGATIONS)
    version = HiddenField()

    def currency_code(self) -> str:
        """Return the chosen currency, or HUF when the choice is not one of ours."""
        return self.currency.data if self.currency.data in SUPPORTED_CURRENCIES else "HUF"

    def _rows(self) -> list[ObligationForm]:
        """Return the obligation rows that are not left empty."""
        return [entry.form for entry in self.obligations if not entry.form.is_blank()]

    def _income(self, currency: str) -> Money | None:
        income = money_of(self.monthly_income, currency)
        return Money(0, currency) if income is None and not self.monthly_income.errors \
            else income

    def amounts(self) -> tuple[Money | None, Money | None, Money | None]:
        """Read the requested limit, the income and the obligations' monthly payments as
        typed so far, for the live figures (no messages are added to the fields).

        Each is None when it cannot be read (the requested limit also when it is empty);
        an empty income or payment counts as zero.
        """
        currency = self.currency_code()
        zero = Money(0, currency)

        def read(field, empty: Money | None) -> Money | None:
            try:
                amount = read_money(field.data, currency)
            except ValueError:
                return None
            return empty if amount is None else amount

        requested = read(self.requested, None)
        income = read(self.monthly_income, zero)
        payments: Money | None = zero
        for row in self._rows():
            payment = read(row.monthly_payment, zero)
            payments = payments + payment if payments is not None and payment else None
        return requested, income, payments

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        currency = self.currency_code()
        requested = money_of(self.requested, currency, required=True)
        if requested is not None and requested.minor == 0:
            self.requested.errors.append(_l("The requested limit must be more than zero."))
        income = self._income(currency)
        rows: list[ObligationData] = []
        for row in self._rows():
            if not (row.lender.data or "").strip():
                row.lender.errors.append(_l("Name the lender."))
            outstanding = money_of(row.outstanding, currency)
            payment = money_of(row.monthly_payment, currency, required=True)
            if payment is not None and not row.errors:
                rows.append(ObligationData(
                    lender=row.lender.data.strip(), kind=ObligationKind(row.kind.data),
                    outstanding_minor=outstanding.minor if outstanding else 0,
                    monthly_payment_minor=payment.minor))
        row_errors = [entry.errors for entry in self.obligations]
        self.obligations.errors = row_errors if any(row_errors) else []
        failed = (not ok or bool(self.requested.errors or self.monthly_income.errors)
                  or bool(self.obligations.errors))
        if failed or requested is None or income is None:
            return False
        self.review_data = ReviewData(
            kind=ReviewKind(self.kind.data), requested_minor=requested.minor, currency=currency,
            purpose=self.purpose.data or "", monthly_income_minor=income.minor,
            obligations=tuple(rows))
        return True


# Verification ------------------------------------------------------------------------------


class PrefixedForm(FlaskForm):
    """A form whose fields carry a prefix, so that several forms share one page."""

    prefix_name = ""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", self.prefix_name)
        super().__init__(*args, **kwargs)


class BureauForm(PrefixedForm):
    """The credit-bureau report: its document (picked or uploaded), score and date."""

    prefix_name = "bureau"
    document_id = OptionalSelectField(_l("Report from the client's file"))
    file = FileField(_l("Or upload the report"))
    score = IntegerField(_l("Score"), validators=[Optional(), NumberRange(0, 1000)])
    report_date = DateField(_l("Report date"), validators=[Optional()])
    version = HiddenField(validators=[DataRequired()])


class EvidenceForm(FlaskForm):
    """A document that backs one reference (picked from the file or uploaded)."""

    document_id = OptionalSelectField(_l("Document from the client's file"))
    file = FileField(_l("Or upload a document"))
    version = HiddenField(validators=[DataRequired()])


class ContactForm(FlaskForm):
    """One contact with a reference: whom, how, when, and what they said."""

    contact_name = StringField(_l("Whom"), validators=[DataRequired(), Length(max=200)])
    channel = SelectField(_l("Channel"), choices=_choices(CHANNEL_LABELS))
    contacted_at = DateTimeLocalField(_l("When"), format="%Y-%m-%dT%H:%M",
                                      validators=[DataRequired()])
    outcome = SelectField(_l("Outcome"), choices=_choices(CONTACT_OUTCOME_LABELS))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


#: The reference items: the ones with a contact log (the bureau report has none).
REFERENCES = (Item.EMPLOYMENT, Item.BANK, Item.LENDERS)


# Moving a review along ---------------------------------------------------------------------


class PrepareForm(PrefixedForm):
    """Start verification, submit for a decision, or withdraw."""

    prefix_name = "prepare"
    version = HiddenField(validators=[DataRequired()])
    note = TextAreaField(_l("Why it is withdrawn"), validators=[Optional(), Length(max=500)])


class DecisionForm(PrefixedForm):
    """Approve, decline, refer up or send back, with the form's one-time token."""

    prefix_name = "decision"
    version = HiddenField(validators=[DataRequired()])
    token = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    approved = StringField(_l("Limit granted"))
    risk_grade = OptionalSelectField(_l("Risk grade"),
                                     choices=[SelectChoice("", _l("— choose —"))]
                                     + _choices(RISK_GRADE_LABELS))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
