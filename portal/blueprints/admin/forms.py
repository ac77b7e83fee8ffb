from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from portal.blueprints.account.forms import LANGUAGE_CHOICES
from portal.labels import ROLE_LABELS
from portal.services.users import MIN_PASSWORD_LENGTH


class UserForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(min=2, max=64),
                    Regexp(r"^[A-Za-z0-9._-]+$",
                           message=_l("Letters, digits, dot, dash and underscore only."))],
    )
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = StringField(_l("E-mail"), validators=[Optional(), Email(), Length(max=254)])
    role = SelectField(
        _l("Role"), choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()]
    )
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    active = BooleanField(_l("Active (may log in)"), default=True)


class NewUserForm(UserForm):
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=256)],
        render_kw={"autocomplete": "new-password"},
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=256)],
        render_kw={"autocomplete": "new-password"},
    )
