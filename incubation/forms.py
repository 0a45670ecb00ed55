"""Forms shared by the HTML views and the JSON API (the API validates bodies with the same classes)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DecimalField,
    Form,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, Regexp

from incubation.models import (
    ApplicationStatus,
    ChainStage,
    Confidentiality,
    IncubationMode,
    ProjectStage,
    ProjectStatus,
    Recommendation,
    SupportStatus,
)
from portal.errors import ValidationFailed
from portal.forms import IntegerField, MoneyField
from portal.states import choices, labels

# Labels of every enum come from the one table, portal.states.LABELS.
STAGE_CHOICES = choices(ProjectStage)
MODE_CHOICES = choices(IncubationMode)
STATUS_LABELS = labels(ProjectStatus)
APPLICATION_STATUS_LABELS = labels(ApplicationStatus)
LANGUAGE_CHOICES = [("zh", _l("Chinese")), ("en", _l("English")), ("de", _l("German")), ("ja", _l("Japanese"))]
CURRENCY_CHOICES = [("CNY", "CNY"), ("USD", "USD"), ("EUR", "EUR")]


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


class ProjectPageForm(ProjectFieldsForm):
    """The project page's form (the API reads incubation.schemas.projects.NewProject): the organisation is
    chosen from the user's startups, the amount in major units."""

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


# ---- shared field types ----------------------------------------------------------------------

class AwareDateTimeField(StringField):
    """ISO 8601 input, e.g. `2027-03-01T09:00+08:00`; without an offset (an HTML datetime-local input)
    the time is read in the user's time zone. `.data` is an aware UTC datetime."""

    widget_type = "datetime-local"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_kw", {"type": "datetime-local"})
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        self.data = None
        if not self.raw:
            return
        text = self.raw.strip().replace("Z", "+00:00").replace(" ", "T")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(str(_l("Use a date and time like 2027-03-01T09:00+08:00."))) from None
        if moment.tzinfo is None:
            zone = getattr(current_user, "timezone", None) if current_user and current_user.is_authenticated else None
            try:
                moment = moment.replace(tzinfo=ZoneInfo(zone or "Asia/Shanghai"))
            except (ZoneInfoNotFoundError, ValueError):
                moment = moment.replace(tzinfo=UTC)
        self.data = moment.astimezone(UTC)

    def _value(self):
        if self.data is None:
            return getattr(self, "raw", "") or ""
        # Shown in the user's zone, the zone an offset-less input is read back in (so a round trip keeps it).
        zone = getattr(current_user, "timezone", None) if current_user and current_user.is_authenticated else None
        try:
            return self.data.astimezone(ZoneInfo(zone or "Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
        except (ZoneInfoNotFoundError, ValueError):
            return self.data.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


class CommaListField(StringField):
    """A list: from JSON a list of strings, from a page a comma-separated text."""

    accepts_list = True  # portal.api's strict JSON types: a list of texts, or one comma-separated text

    def process_formdata(self, valuelist):
        items = []
        for value in valuelist:
            items.extend(part.strip() for part in str(value).replace("，", ",").split(","))
        self.data = [item for item in items if item]

    def _value(self):
        return ", ".join(self.data or [])


# ---- projects: editing, documents, NDA, transitions -------------------------------------------

class TransitionForm(FlaskForm):
    status = SelectField(_l("New status"), choices=list(STATUS_LABELS.items()), validators=[DataRequired()])
    note = TextAreaField(_l("Note for the founders"), validators=[Optional(), Length(max=5000)])


class NdaForm(FlaskForm):
    nda_text = TextAreaField(_l("NDA text"), validators=[DataRequired(), Length(max=20000)])


class NdaAcceptForm(FlaskForm):
    version = IntegerField(_l("NDA version"), validators=[Optional()])


CONFIDENTIALITY_CHOICES = choices(Confidentiality)


class DocumentForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=160)])
    confidentiality = SelectField(_l("Who may open it"), choices=CONFIDENTIALITY_CHOICES, default=Confidentiality.NDA)
    file = FileField(_l("File (PDF, image, ZIP or STEP)"))


class CoverForm(FlaskForm):
    cover_image = FileField(_l("Cover image (PNG, JPEG, WebP or GIF)"))


# ---- former employees ------------------------------------------------------------------------

class FormerEmploymentForm(FlaskForm):
    company_id = IntegerField(_l("Company"), validators=[DataRequired()])
    position = StringField(_l("Position"), validators=[Optional(), Length(max=120)])
    years = StringField(_l("Years"), validators=[Optional(), Length(max=20)])


class FormerEmploymentPageForm(FormerEmploymentForm):
    company_id = SelectField(_l("Company"), coerce=int, validators=[DataRequired()])


# ---- programs and applications ----------------------------------------------------------------------
# The pages' forms; the API reads the same commands (incubation.schemas.programs) from JSON.

def criteria_lines(text: str | None) -> list[dict]:
    """`name: weight` lines as the command's criteria."""
    criteria = []
    for line in (text or "").splitlines():
        if line.strip():
            name, _sep, weight = line.rpartition(":")
            if not name.strip() or not weight.strip().isdigit():
                raise ValidationFailed.field("criteria_text", str(_l("Write each criterion as name: weight.")))
            criteria.append({"name": name.strip(), "weight": int(weight)})
    return criteria


def question_lines(text: str | None) -> list[dict]:
    """One question a line, `*` at the end for a required one, as the command's questions."""
    return [{"text": line.strip().rstrip("*").strip(), "required": line.strip().endswith("*")}
            for line in (text or "").splitlines() if line.strip().rstrip("*").strip()]


class ProgramTermsPageForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=160)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10000)])
    opens_at = AwareDateTimeField(_l("Opens"), validators=[DataRequired()])
    closes_at = AwareDateTimeField(_l("Closes"), validators=[DataRequired()])
    capacity = IntegerField(_l("Places"), validators=[DataRequired(), NumberRange(min=1, max=10000)])
    criteria_text = TextAreaField(_l("Criteria, one per line as name: weight"), validators=[Optional()])
    questions_text = TextAreaField(_l("Questions, one per line (end with * if required)"), validators=[Optional()])

    def criteria_items(self) -> list[dict]:
        return criteria_lines(self.criteria_text.data)

    def question_items(self) -> list[dict]:
        return question_lines(self.questions_text.data)


class ProgramPageForm(ProgramTermsPageForm):
    """The HTML form creating a program: criteria and questions one per line."""

    organisation_id = SelectField(_l("Company"), coerce=int, validators=[DataRequired()])
    mode = SelectField(_l("Incubation mode"), choices=MODE_CHOICES, validators=[DataRequired()])
    criteria_text = TextAreaField(_l("Criteria, one per line as name: weight"), validators=[DataRequired()],
                                  default="Market: 40\nTeam: 35\nTechnology: 25")
    blind_review = BooleanField(_l("Blind review (hide the applicants from reviewers)"))
    credit_amount = MoneyField(_l("Resource credits per accepted startup (open source only)"),
                               validators=[Optional()], currency_field="credit_currency", min_minor=1)
    credit_currency = StringField(_l("Credit currency"), default="CNY",
                                  validators=[Optional(), Regexp(r"^[A-Za-z]{3}$")])


class ProgramEditPageForm(ProgramTermsPageForm):
    """The HTML edit form: criteria and questions one per line, as on creation."""

    def fill(self, program) -> None:
        self.title.data, self.description.data = program.title, program.description
        self.opens_at.data, self.closes_at.data, self.capacity.data = program.opens_at, program.closes_at, \
            program.capacity
        self.criteria_text.data = "\n".join(f"{c.name}: {c.weight}" for c in program.criteria)
        self.questions_text.data = "\n".join(q.text + (" *" if q.required else "") for q in program.questions)


class ApplicationPageForm(FlaskForm):
    project_id = SelectField(_l("Project"), coerce=int, validators=[DataRequired()])


class ReviewerPageForm(FlaskForm):
    user_id = SelectField(_l("Reviewer"), coerce=int, validators=[DataRequired()])


class AutoAssignForm(FlaskForm):
    """The page's automatic assignment (the company's staff are the pool)."""

    reviewers_per_application = IntegerField(_l("Reviewers per application"), default=2,
                                             validators=[DataRequired(), NumberRange(min=1, max=10)])


RECOMMENDATION_CHOICES = choices(Recommendation)


class ReviewForm(FlaskForm):
    """The scores come from the page's `score-<criterion id>` selects (see views.programs.criterion_scores)."""

    recommendation = SelectField(_l("Recommendation"), choices=RECOMMENDATION_CHOICES, validators=[DataRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=5000)])


class ConflictForm(FlaskForm):
    reason = TextAreaField(_l("What is the conflict?"), validators=[DataRequired(), Length(max=500)])


class DecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("accepted", _l("Accept")), ("rejected", _l("Reject"))],
                           validators=[DataRequired()])
    feedback = TextAreaField(_l("Feedback for the founders"), validators=[DataRequired(), Length(max=5000)])


# ---- incubation support ----------------------------------------------------------------------

class MilestoneForm(FlaskForm):
    title = StringField(_l("Milestone"), validators=[DataRequired(), Length(max=160)])
    due_at = AwareDateTimeField(_l("Due"), validators=[Optional()])


class KpiForm(FlaskForm):
    name = StringField(_l("KPI"), validators=[DataRequired(), Length(max=80)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=20)])
    target = IntegerField(_l("Target"), validators=[DataRequired(), NumberRange(min=0)])


class ProgressForm(FlaskForm):
    body = TextAreaField(_l("What happened?"), validators=[DataRequired(), Length(max=5000)])
    milestone_id = IntegerField(_l("Milestone"), validators=[Optional()])
    progress = IntegerField(_l("Milestone progress (%)"), validators=[Optional(), NumberRange(min=0, max=100)])
    kpi_id = IntegerField(_l("KPI"), validators=[Optional()])
    kpi_value = IntegerField(_l("KPI value"), validators=[Optional(), NumberRange(min=0)])


CHAIN_CHOICES = choices(ChainStage)
SUPPORT_STATUS_CHOICES = choices(SupportStatus)


class SupportRequestForm(FlaskForm):
    stage = SelectField(_l("Stage of the chain"), choices=CHAIN_CHOICES, validators=[DataRequired()])
    title = StringField(_l("What do you need?"), validators=[DataRequired(), Length(max=160)])
    body = TextAreaField(_l("Details"), validators=[Optional(), Length(max=5000)])


class SupportUpdateForm(FlaskForm):
    status = SelectField(_l("Status"), choices=SUPPORT_STATUS_CHOICES[1:], validators=[DataRequired()])
    resolution = TextAreaField(_l("Resolution"), validators=[Optional(), Length(max=5000)])


# ---- mentors ---------------------------------------------------------------------------------

class MentorProfileForm(FlaskForm):
    bio = TextAreaField(_l("About you"), validators=[DataRequired(), Length(max=5000)])
    expertise = CommaListField(_l("Expertise (comma separated)"))
    industries = CommaListField(_l("Industries (comma separated)"))
    languages = CommaListField(_l("Languages (codes, comma separated, e.g. zh, en)"))
    organisation = StringField(_l("Organisation"), validators=[Optional(), Length(max=160)])


class SlotForm(FlaskForm):
    start = AwareDateTimeField(_l("Start"), validators=[DataRequired()])
    end = AwareDateTimeField(_l("End"), validators=[DataRequired()])
    repeat_weeks = IntegerField(_l("Repeat weekly for (weeks)"), default=1,
                                validators=[Optional(), NumberRange(min=1, max=26)],
                                description=_l("1: this week only; 4: the same time for four weeks"))


class BookingForm(FlaskForm):
    project_id = IntegerField(_l("Project"), validators=[Optional()])
    topic = StringField(_l("Topic"), validators=[DataRequired(), Length(max=200)])


class BookingPageForm(BookingForm):
    project_id = SelectField(_l("Project"), coerce=lambda v: int(v) if v not in (None, "", "None") else None,
                             validators=[Optional()])


class SlotCancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason (sent to the founder who booked)"), validators=[Optional(), Length(max=500)])


class SessionNotesForm(FlaskForm):
    notes = TextAreaField(_l("Session notes"), validators=[DataRequired(), Length(max=10000)])


class SessionFeedbackForm(FlaskForm):
    rating = IntegerField(_l("Rating (1-5)"), validators=[DataRequired(), NumberRange(min=1, max=5)])
    feedback = TextAreaField(_l("Feedback"), validators=[Optional(), Length(max=5000)])


# ---- ideas -----------------------------------------------------------------------------------

class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=2000)])


class AdoptPageForm(FlaskForm):
    project_id = SelectField(_l("Project"), coerce=int, validators=[DataRequired()])
