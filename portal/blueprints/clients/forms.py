from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from portal.domain.identifiers import (
    InvalidIdentifier,
    normalise_registration_number,
    normalise_tax_id,
)
from portal.domain.money import SUPPORTED_CURRENCIES, MoneyError, parse_amount
from portal.domain.phones import InvalidPhone, to_e164
from portal.labels import KIND_LABELS, STATUS_LABELS
from portal.models.clients import ClientKind
from portal.stale import TracksOriginal

#: What a masked identifier begins with (``portal.domain.identifiers.mask``).
MASK_CHAR = "•"


def _tax_id(form, field) -> None:
    if field.data and not form.keeps_tax_id():
        if field.data.strip().startswith(MASK_CHAR):
            raise ValidationError(_l("Type the whole new tax ID or number, or leave the masked "
                                     "one as it is."))
        try:
            field.data = normalise_tax_id(field.data)
        except InvalidIdentifier as exc:
            messages = {
                "check digit does not match": _l("The check digit does not match: a typo?"),
                "personal tax ID must start with 8": _l("A personal tax ID starts with 8."),
            }
            raise ValidationError(
                messages.get(str(exc), _l("Enter a tax ID (10 digits) or tax number "
                                          "(12345678-1-42)."))
            ) from exc


def _income(form, field) -> None:
    if field.data and field.data.strip():
        try:
            amount = parse_amount(field.data, form.income_currency.data or "HUF")
        except MoneyError as exc:
            if str(exc) == "too many decimals":
                raise ValidationError(_l("Too many decimals for this currency (forint "
                                         "amounts are whole numbers).")) from exc
            raise ValidationError(_l("Enter an amount, e.g. 450,000.")) from exc
        if amount.minor < 0:
            raise ValidationError(_l("Income cannot be negative.") if field.name == "income"
                                  else _l("Revenue cannot be negative."))


def _phone(form, field) -> None:
    if field.data and field.data.strip():
        try:
            to_e164(field.data)
        except InvalidPhone as exc:
            messages = {
                "too short": _l("Too few digits for a phone number. Type it as 06 20 123 4567 "
                                "or +36 1 234 5678."),
                "too long": _l("Too many digits for a phone number. Type it as "
                               "06 20 123 4567 or +36 1 234 5678."),
            }
            raise ValidationError(messages.get(str(exc), _l(
                "This is not a valid phone number. Type it as 06 20 123 4567 or "
                "+36 1 234 5678 (a foreign number with its country code, e.g. +43)."))) from exc


def _registration_number(form, field) -> None:
    if field.data and field.data.strip():
        try:
            field.data = normalise_registration_number(field.data)
        except InvalidIdentifier as exc:
            raise ValidationError(_l("Enter the company registration number as "
                                     "01-09-123456.")) from exc


class ClientForm(TracksOriginal, FlaskForm):
    kind = SelectField(
        _l("Kind"), choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()]
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    tax_id = StringField(_l("Tax ID or tax number"), validators=[Optional(), _tax_id])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=16)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    street = StringField(_l("Street address"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40), _phone])
    email = StringField(_l("E-mail"), validators=[Optional(), Email(), Length(max=254)])
    employer = StringField(_l("Employer"), validators=[Optional(), Length(max=200)])
    income = StringField(_l("Monthly income"), validators=[Optional(), _income])
    registration_number = StringField(_l("Company registration number"),
                                      validators=[Optional(), _registration_number])
    revenue = StringField(_l("Annual revenue"), validators=[Optional(), _income])
    income_currency = SelectField(
        _l("Currency"), choices=[SelectChoice(c, c) for c in SUPPORTED_CURRENCIES]
    )
    status = SelectField(
        _l("Status"), choices=[SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()]
    )
    #: Each language named in itself, as a language menu does.
    language = SelectField(_l("Language of letters and decisions"),
                           choices=[SelectChoice("hu", "Magyar"), SelectChoice("en", "English")],
                           default="hu")
    #: Shown only to those who may assign: absent from a clerk's form, it means "none" here
    #: (the service keeps the stored coordinator for them).
    coordinator_id = SelectField(_l("Coordinator"), coerce=str, validate_choice=True,
                                 default="")
    restricted = BooleanField(_l("Restricted: only the coordinator and managers see this client"))
    version = HiddenField()

    #: The stored tax ID as this user sees it (masked), when they may not see it in full.
    masked_tax_id: str | None = None
    #: The form was loaded from an older version of the record, so the mask it showed may be
    #: of an older tax ID: any mask then means "keep" (the edit ends as a conflict anyway).
    stale: bool = False

    #: The fields that belong to one kind of client only.
    PERSON_FIELDS = ("employer", "income")
    COMPANY_FIELDS = ("registration_number", "revenue")

    def validate(self, extra_validators=None) -> bool:
        """Validate; the other kind's fields (shown together without JS) are emptied, not
        checked: a company has no employer, a person no registration number."""
        company = self.kind.data == ClientKind.COMPANY.value
        for name in self.PERSON_FIELDS if company else self.COMPANY_FIELDS:
            self[name].raw_data, self[name].data = [], ""
        return super().validate(extra_validators)

    def keeps_tax_id(self) -> bool:
        """Tell whether the tax ID field holds the mask it was shown (keep the stored one)."""
        value = (self.tax_id.data or "").strip()
        if self.masked_tax_id and value == self.masked_tax_id:
            return True
        return self.stale and value.startswith(MASK_CHAR)
