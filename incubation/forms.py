"""Forms shared by the HTML views and the JSON API (the API validates bodies with the same classes)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, Form, FormField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, Regexp

from incubation.models import IncubationMode, ProjectStage, ProjectStatus

STAGE_CHOICES = [
    (ProjectStage.IDEA, _l("Idea")),
    (ProjectStage.PROTOTYPE, _l("Prototype")),
    (ProjectStage.MVP, _l("Minimum viable product")),
    (ProjectStage.REVENUE, _l("Revenue")),
    (ProjectStage.SCALE, _l("Scaling")),
]
MODE_CHOICES = [
    (IncubationMode.INTERNAL, _l("Internal incubation")),
    (IncubationMode.SPIN_OFF, _l("Spin-off incubation")),
    (IncubationMode.CROWDFUNDING, _l("Crowdfunding")),
    (IncubationMode.OPEN_SOURCE, _l("Open source")),
]
STATUS_LABELS = {
    ProjectStatus.DRAFT: _l("Draft"),
    ProjectStatus.SUBMITTED: _l("Submitted"),
    ProjectStatus.SCREENING: _l("Screening"),
    ProjectStatus.NEEDS_INFO: _l("Needs information"),
    ProjectStatus.ACCEPTED: _l("Accepted"),
    ProjectStatus.REJECTED: _l("Rejected"),
    ProjectStatus.INCUBATING: _l("Incubating"),
    ProjectStatus.GRADUATED: _l("Graduated"),
    ProjectStatus.WITHDRAWN: _l("Withdrawn"),
}
LANGUAGE_CHOICES = [("zh", _l("Chinese")), ("en", _l("English")), ("de", _l("German")), ("ja", _l("Japanese"))]
CURRENCY_CHOICES = [("CNY", "CNY"), ("USD", "USD"), ("EUR", "EUR")]


class MoneyForm(Form):
    """`{amount, currency}`: integer minor units and an ISO 4217 code."""

    amount = IntegerField(_l("Amount (minor units)"), validators=[Optional(), NumberRange(min=0)])
    currency = StringField(_l("Currency"), default="CNY",
                           validators=[Optional(), Regexp(r"^[A-Za-z]{3}$", message=_l("Use an ISO 4217 code."))])


class ProjectFieldsForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=160)])
    summary = StringField(_l("One-line summary"), validators=[DataRequired(), Length(max=280)])
    industry = StringField(_l("Industry"), validators=[DataRequired(), Length(max=80)])
    stage = SelectField(_l("Stage"), choices=STAGE_CHOICES, validators=[DataRequired()])
    mode = SelectField(_l("Incubation mode"), choices=MODE_CHOICES, validators=[DataRequired()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10000)])
    problem = TextAreaField(_l("Problem"), validators=[Optional(), Length(max=5000)])
    solution = TextAreaField(_l("Solution"), validators=[Optional(), Length(max=5000)])
    market = TextAreaField(_l("Market"), validators=[Optional(), Length(max=5000)])
    business_model = TextAreaField(_l("Business model"), validators=[Optional(), Length(max=5000)])
    team = TextAreaField(_l("Team"), validators=[Optional(), Length(max=5000)])
    video_url = StringField(_l("Pitch video URL"), validators=[Optional(), URL(), Length(max=255)])

    def text_fields(self) -> dict[str, str]:
        return {name: getattr(self, name).data or "" for name in
                ("description", "problem", "solution", "market", "business_model", "team", "video_url")}


class ProjectForm(ProjectFieldsForm):
    """The API body of POST /api/v1/projects."""

    organisation_id = IntegerField(_l("Organisation"), validators=[DataRequired()])
    funding_sought = FormField(MoneyForm, label=_l("Funding sought"))


class ProjectPageForm(ProjectFieldsForm):
    """The HTML form: the organisation is chosen from the user's startups, the amount in major units."""

    organisation_id = SelectField(_l("Startup"), coerce=int, validators=[DataRequired()])
    funding_sought_amount = DecimalField(_l("Funding sought"), places=2, validators=[Optional(), NumberRange(min=0)])
    currency = SelectField(_l("Currency"), choices=CURRENCY_CHOICES, default="CNY")


class ProjectFilterForm(Form):
    """GET filters of the project list (read from the query string)."""

    industry = SelectField(_l("Industry"), validators=[Optional()], validate_choice=False)
    mode = SelectField(_l("Incubation mode"), choices=[("", _l("Any mode"))] + MODE_CHOICES,
                       validators=[Optional()])
    stage = SelectField(_l("Stage"), choices=[("", _l("Any stage"))] + STAGE_CHOICES, validators=[Optional()])


class MentorFilterForm(Form):
    expertise = StringField(_l("Expertise"), validators=[Optional(), Length(max=80)])
    language = SelectField(_l("Language"), choices=[("", _l("Any language"))] + LANGUAGE_CHOICES,
                           validators=[Optional()])


class IdeaForm(FlaskForm):
    title = StringField(_l("Your idea"), validators=[DataRequired(), Length(max=160)])
    description = TextAreaField(_l("Describe it"), validators=[Optional(), Length(max=5000)])
