"""Forms of the accounts: opening an account, the quick ledger forms on the account page
(payment, charge, fee, adjustment, recovery, reversal) and write-off proposals and decisions.

Amounts are typed the way people type them ("1 200 000", "12,50") and read with
``parse_amount`` in the account's currency; too many decimals is a message on the field.
"""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.domain.money import SUPPORTED_CURRENCIES, Money, MoneyError, parse_amount
from portal.labels import METHOD_LABELS
from portal.services.ledger import METHODS


def read_amount(field, currency: str, *, signed: bool = False) -> Money | None:
    """Read a typed amount in ``currency``; on a problem add a message to the field and
    return None. A minus sign is left to the service (it refuses it) unless ``signed``."""
    text = (field.data or "").strip()
    if not text:
        field.errors.append(_l("Enter an amount."))
        return None
    try:
        return parse_amount(text, currency)
    except MoneyError as exc:
        if str(exc) == "too many decimals":
            field.errors.append(_l("Too many decimals for this currency (forint amounts are "
                                   "whole numbers)."))
        elif str(exc).startswith("amount is in"):
            field.errors.append(_l("This amount is in another currency than the account's."))
        else:
            field.errors.append(_l("Enter an amount, e.g. 1,200,000."))
        return None


class OpenAccountForm(FlaskForm):
    """Open an account for a client: currency, limit and the day it opens."""

    currency = SelectField(_l("Currency"), choices=[SelectChoice(c, c)
                                                    for c in SUPPORTED_CURRENCIES])
    limit = StringField(_l("Credit limit"), validators=[InputRequired(), Length(max=40)])
    opened_on = DateField(_l("Opened on"), validators=[InputRequired()])


class EntryForm(FlaskForm):
    """What every quick ledger form has: an amount, a day and a one-time key."""

    key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    amount = StringField(_l("Amount"), validators=[InputRequired(), Length(max=40)])
    booked_on = DateField(_l("Booked on"), validators=[InputRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", self.prefix_name)
        super().__init__(*args, **kwargs)

    prefix_name = "entry"

    @classmethod
    def fresh(cls, today):
        """Return an empty form for the page, dated today, with a new one-time key."""
        form = cls(formdata=None)
        form.key.data = secrets.token_urlsafe(24)
        form.booked_on.data = today
        return form


class PaymentForm(EntryForm):
    prefix_name = "payment"
    method = SelectField(_l("Method"), choices=[SelectChoice(m, METHOD_LABELS[m])
                                                for m in METHODS])
    reference = StringField(_l("Reference"), validators=[Optional(), Length(max=140)])


class RecoveryForm(PaymentForm):
    prefix_name = "recovery"


class ChargeForm(EntryForm):
    prefix_name = "charge"
    due_on = DateField(_l("Due on"), validators=[InputRequired()])


class FeeForm(ChargeForm):
    prefix_name = "fee"


class AdjustmentForm(EntryForm):
    prefix_name = "adjustment"
    amount = StringField(_l("Amount (− lowers the balance)"),
                         validators=[InputRequired(), Length(max=40)])


class ReverseForm(FlaskForm):
    """Reverse one entry, with a reason."""

    reason = StringField(_l("Reason"), validators=[InputRequired(), Length(max=500)])


class WriteOffForm(FlaskForm):
    """Propose writing off (part of) the balance."""

    amount = StringField(_l("Amount to write off"), validators=[InputRequired(),
                                                                 Length(max=40)])
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=2000)])

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", "write_off")
        super().__init__(*args, **kwargs)


class DecideWriteOffForm(FlaskForm):
    """Approve or reject a write-off proposal, with a note (required to reject)."""

    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
