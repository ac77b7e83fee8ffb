"""Filters of the reports, read from the query string (GET forms: no CSRF needed)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from portal.domain.money import SUPPORTED_CURRENCIES
from portal.i18n import today

#: The longest period the KPI report covers (its monthly chart stays readable).
MAX_PERIOD_DAYS = 3 * 366


def _year_start() -> date:
    return date(today().year, 1, 1)


class AgingForm(FlaskForm):
    class Meta:
        csrf = False

    as_of = DateField(_l("As of"), default=today, validators=[DataRequired()])
    currency = SelectField(_l("Currency"), default="HUF",
                           choices=[SelectChoice(c, c) for c in SUPPORTED_CURRENCIES])


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False

    start = DateField(_l("From"), default=_year_start, validators=[DataRequired()])
    end = DateField(_l("To"), default=today, validators=[DataRequired()])
    currency = SelectField(_l("Currency"), default="HUF",
                           choices=[SelectChoice(c, c) for c in SUPPORTED_CURRENCIES])

    def validate_end(self, field: DateField) -> None:
        if self.start.data and field.data:
            if field.data < self.start.data:
                raise ValidationError(_l("The period cannot end before it starts."))
            if (field.data - self.start.data).days > MAX_PERIOD_DAYS:
                raise ValidationError(_l("Choose a period of at most three years."))
