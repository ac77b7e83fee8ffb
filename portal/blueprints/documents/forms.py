from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.labels import TYPE_LABELS
from portal.stale import TracksOriginal

TYPE_CHOICES = [SelectChoice(t.value, label) for t, label in TYPE_LABELS.items()]


def _stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class UploadForm(FlaskForm):
    """The fields that travel with uploaded files (the files themselves are read apart)."""

    doc_type = SelectField(_l("Document type"), choices=TYPE_CHOICES, default="other")
    title = StringField(_l("Title"), validators=[Optional(), Length(max=300)],
                        description=_l("Empty: the file name."))
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=400)],
                       description=_l("Separated by commas."))
    doc_date = DateField(_l("Document date"), validators=[Optional()])


class DetailsForm(TracksOriginal, FlaskForm):
    """A filed document's details, corrected on its page."""

    doc_type = SelectField(_l("Document type"), choices=TYPE_CHOICES)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)],
                        filters=[_stripped])
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=400)],
                       description=_l("Separated by commas."))
    doc_date = DateField(_l("Document date"), validators=[Optional()])


class SearchForm(FlaskForm):
    """Search filters from the query string (GET: no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    client = StringField(_l("Client number"), validators=[Optional(), Length(max=16)])
    doc_type = SelectMultipleField(_l("Type"), choices=TYPE_CHOICES, validate_choice=False)
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=200)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    sort = SelectField(_l("Sort"), choices=[SelectChoice("relevance", _l("Relevance")),
                                            SelectChoice("date", _l("Newest first"))],
                       validate_choice=False)
