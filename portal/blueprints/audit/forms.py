from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional


class AuditFilterForm(FlaskForm):
    """Filters read from the query string (a GET form: no CSRF needed)."""

    class Meta:
        csrf = False

    user = StringField(_l("User"), validators=[Optional(), Length(max=64)])
    action = SelectField(_l("Action"), validate_choice=False)
    object = StringField(_l("Object"), validators=[Optional(), Length(max=100)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
