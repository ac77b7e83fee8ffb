"""Forms of the bank statement import: the upload, the column mapping of a CSV, confirming
matched lines, and assigning or setting aside an unmatched one."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from portal.banking import ColumnMapping


class UploadForm(FlaskForm):
    """One statement file: camt.053 XML or a CSV export."""

    statement = FileField(_l("Statement file"), validators=[FileRequired(_l("Choose a file."))])


#: The mapping's single-column fields, in the order the form shows them.
COLUMN_FIELDS = ("date", "amount", "credit", "debit", "direction", "currency",
                 "counterparty_name", "counterparty_account", "transaction_id", "description")


class MappingForm(FlaskForm):
    """Name the columns of a CSV statement; the file travels along (``content`` or ``ticket``)."""

    content = HiddenField()
    ticket = HiddenField()
    file_name = HiddenField(validators=[Length(max=255)])
    bank_name = StringField(_l("Bank"), validators=[Optional(), Length(max=100)],
                            description=_l("The mapping is remembered for this bank's files."))
    date = SelectField(_l("Booking date"), default="")
    amount = SelectField(_l("Amount (signed)"), default="")
    credit = SelectField(_l("Credit amount"), default="")
    debit = SelectField(_l("Debit amount"), default="")
    direction = SelectField(_l("Credit or debit marker"), default="")
    currency = SelectField(_l("Currency"), default="")
    fixed_currency = StringField(_l("Currency when the file has none"), default="HUF",
                                 validators=[DataRequired(), Regexp(r"^[A-Za-z]{3}$",
                                             message=_l("Three letters, such as HUF."))])
    counterparty_name = SelectField(_l("Payer's name"), default="")
    counterparty_account = SelectField(_l("Payer's account"), default="")
    reference = SelectMultipleField(_l("Reference (one or more columns)"))
    transaction_id = SelectField(_l("Bank's transaction id"), default="")
    description = SelectField(_l("Description"), default="")
    decimal_mark = SelectField(_l("Decimal mark"), default="", choices=[
        SelectChoice("", _l("As the file shows")), SelectChoice(",", _l("Comma (1 234,50)")),
        SelectChoice(".", _l("Point (1,234.50)"))])

    def offer(self, header: Sequence[str]) -> None:
        """Offer the file's header as the choices of every column field."""
        columns = [SelectChoice(h, h) for h in header if h]
        for name in COLUMN_FIELDS:
            getattr(self, name).choices = [SelectChoice("", "—"), *columns]
        self.reference.choices = columns

    def fill(self, mapping: ColumnMapping) -> None:
        """Pre-select a proposed mapping."""
        for name in COLUMN_FIELDS:
            getattr(self, name).data = getattr(mapping, name)
        self.reference.data = list(mapping.reference)
        self.fixed_currency.data = mapping.fixed_currency or "HUF"
        self.decimal_mark.data = mapping.decimal_mark or ""

    def validate_amount(self, field) -> None:
        if not (field.data or self.credit.data or self.debit.data):
            raise ValidationError(_l("Choose the amount column, or the credit column."))

    def validate_date(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Choose the column of the booking date."))

    def mapping(self) -> ColumnMapping:
        """Return the mapping as chosen."""
        return ColumnMapping(
            **{name: getattr(self, name).data or "" for name in COLUMN_FIELDS},
            reference=tuple(self.reference.data or ()),
            fixed_currency=self.fixed_currency.data.upper(),
            decimal_mark=self.decimal_mark.data or None)


class ConfirmForm(FlaskForm):
    """The matched lines chosen for recording."""

    line = SelectMultipleField(coerce=int, validate_choice=False)


class AssignForm(FlaskForm):
    """Record an unmatched line against an account typed by its number."""

    account_number = StringField(_l("Account number"), validators=[
        DataRequired(_l("Enter an account number.")), Length(max=40)],
        render_kw={"placeholder": "HK-12345678", "autocomplete": "off"})


class IgnoreForm(FlaskForm):
    """Set a line aside: it is not a client's payment."""

    note = StringField(_l("Why it is set aside"), validators=[
        DataRequired(_l("Give a reason.")), Length(max=200)])
