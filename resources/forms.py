"""The WTForms of the HTML pages (labels, widgets, CSRF); a submitted form becomes the command of
resources.schemas through `portal.schemas.from_form`, which the API builds from its JSON body."""


from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from portal.forms import IntegerField, MoneyField
from portal.states import choices, labels
from resources.models import Audience, BlackoutKind, BookingStatus, PriceUnit, ResourceKind
from resources.schemas import DEFAULT_TIMEZONE, MAX_AMOUNT, is_valid_timezone

# Labels from the one table, portal.states.LABELS.
KIND_LABELS = labels(ResourceKind)
AUDIENCE_LABELS = labels(Audience)
UNIT_LABELS = labels(PriceUnit)

PRICE_ROWS = 6  # rows in the HTML form; empty rows are ignored
HOURS_ROWS = 7


def weekday_names() -> dict[int, str]:
    """Localised weekday names, Monday=0 (as `OpeningHours.weekday` and `datetime.weekday()`)."""
    return dict(sorted(get_day_names("wide", locale=str(get_locale() or "en")).items()))


def valid_timezone(form, field) -> None:
    if field.data and not is_valid_timezone(field.data):
        raise ValidationError(_l("Use an IANA time zone name such as Asia/Shanghai."))


class PriceForm(Form):
    audience = SelectField(_l("Audience"), choices=list(AUDIENCE_LABELS.items()), validators=[InputRequired()])
    unit = SelectField(_l("Unit"), choices=list(UNIT_LABELS.items()), validators=[InputRequired()])
    amount = MoneyField(_l("Amount"), validators=[InputRequired()], currency_field="currency",
                        max_minor=MAX_AMOUNT, description=_l("e.g. 120.00"))
    currency = StringField(_l("Currency"), default="CNY",
                           validators=[DataRequired(), Regexp(r"^[A-Za-z]{3}$", message=_l("Three letters, e.g. CNY."))])


class OpeningHoursForm(Form):
    weekday = SelectField(_l("Weekday"), coerce=int, choices=[(d, str(d)) for d in range(7)],
                          validators=[InputRequired()])
    start = TimeField(_l("Opens"), validators=[InputRequired()])
    end = TimeField(_l("Closes"), validators=[InputRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.weekday.choices = list(weekday_names().items())

    def validate_end(self, field) -> None:
        if self.start.data and field.data and field.data <= self.start.data:
            raise ValidationError(_l("Closing time must be after opening time."))


class PricesForm(FlaskForm):
    prices = FieldList(FormField(PriceForm), label=_l("Prices"))


class ResourceForm(FlaskForm):
    organisation_id = IntegerField(_l("Company"), validators=[InputRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    kind = SelectField(_l("Kind"), choices=list(KIND_LABELS.items()), validators=[InputRequired()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=80)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)])
    timezone = StringField(_l("Time zone"), default=DEFAULT_TIMEZONE,
                           validators=[Optional(), Length(max=64), valid_timezone],
                           description=_l("IANA name; opening hours are local times in this zone."))
    capacity = IntegerField(_l("Capacity (people or parallel jobs)"), default=1,
                            validators=[Optional(), NumberRange(min=1, max=10_000)])
    min_minutes = IntegerField(_l("Shortest booking (minutes)"), default=30,
                               validators=[Optional(), NumberRange(min=1, max=7 * 24 * 60)])
    max_minutes = IntegerField(_l("Longest booking (minutes)"), default=480,
                               validators=[Optional(), NumberRange(min=1, max=31 * 24 * 60)])
    buffer_minutes = IntegerField(_l("Buffer after each booking (minutes)"), default=0,
                                  validators=[Optional(), NumberRange(min=0, max=24 * 60)])
    advance_days = IntegerField(_l("Bookable up to (days ahead)"), default=60,
                                validators=[Optional(), NumberRange(min=1, max=730)])
    requires_approval = BooleanField(_l("Bookings need approval by staff"))
    requires_qualification = BooleanField(_l("Only qualified users may book"))
    terms_text = TextAreaField(_l("Terms (IP, NDA, safety)"), validators=[Optional(), Length(max=10000)])
    cancel_free_hours = IntegerField(_l("Free cancellation until (hours before)"), default=24,
                                     validators=[Optional(), NumberRange(min=0, max=24 * 60)])
    late_cancel_fee_percent = IntegerField(_l("Late-cancel fee (percent of the price)"), default=50,
                                           validators=[Optional(), NumberRange(min=0, max=100)])
    quota_minutes_per_week = IntegerField(_l("Weekly quota per startup (minutes, empty: none)"),
                                          validators=[Optional(), NumberRange(min=1, max=7 * 24 * 60)])
    specifications_text = TextAreaField(
        _l("Specifications"), validators=[Optional(), Length(max=20000)],
        description=_l("One per line, as name: value."))
    prices = FieldList(FormField(PriceForm), label=_l("Prices"))
    opening_hours = FieldList(FormField(OpeningHoursForm), label=_l("Opening hours"))

    def validate_max_minutes(self, field) -> None:
        if field.data and self.min_minutes.data and field.data < self.min_minutes.data:
            raise ValidationError(_l("Must be at least the shortest booking."))

    def specifications(self) -> dict[str, str]:
        """The "name: value" lines of the HTML form as a dict."""
        specs: dict[str, str] = {}
        for line in (self.specifications_text.data or "").splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip():
                specs[name.strip()] = value.strip()
        return specs



class BookingForm(FlaskForm):
    """A booking request. Times: ISO 8601 with an offset, or local time of the resource without one
    (what the HTML datetime-local inputs send). The rules themselves are checked by the service."""

    start = StringField(_l("Start"), validators=[DataRequired()],
                        description=_l("e.g. 2026-12-01T09:00+08:00; without offset: local time of the resource"))
    end = StringField(_l("End"), validators=[DataRequired()])
    purpose = TextAreaField(_l("Purpose"), validators=[Optional(), Length(max=2000)])
    organisation_id = IntegerField(_l("Book for"), validators=[Optional()],
                                   description=_l("your startup; decides the price (incubatee, startup, external)"))
    accept_terms_version = IntegerField(_l("I accept the terms (version)"), validators=[Optional()])
    repeat_weeks = IntegerField(_l("Repeat weekly, number of times"), default=1,
                                validators=[Optional(), NumberRange(min=1, max=52)])
    skip_conflicts = BooleanField(_l("Leave out occurrences that clash"))


class DecisionForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)])
    reject_clashing = BooleanField(_l("Also reject the clashing requests"))


class ReviewForm(FlaskForm):
    rating = IntegerField(_l("Rating (1-5)"), validators=[InputRequired(), NumberRange(min=1, max=5)])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])


class QualificationForm(FlaskForm):
    email = StringField(_l("User's email"), validators=[DataRequired(), Length(max=254)])
    expires_on = StringField(_l("Valid until (date, optional)"), validators=[Optional()],
                             description=_l("YYYY-MM-DD; empty: no expiry"))


class TrainingRequestForm(FlaskForm):
    message = TextAreaField(_l("Message"), validators=[Optional(), Length(max=2000)])


class ProblemForm(FlaskForm):
    description = TextAreaField(_l("What is wrong?"), validators=[DataRequired(), Length(max=5000)])


BLACKOUT_KIND_LABELS = labels(BlackoutKind)


class BlackoutForm(FlaskForm):
    start = StringField(_l("From"), validators=[DataRequired()])
    end = StringField(_l("Until"), validators=[DataRequired()])
    kind = SelectField(_l("Kind"), choices=list(BLACKOUT_KIND_LABELS.items()), default="maintenance")
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class ExceptionForm(FlaskForm):
    date = StringField(_l("Date"), validators=[DataRequired()], description=_l("YYYY-MM-DD, local date"))
    start = StringField(_l("Opens"), validators=[Optional()], description=_l("HH:MM; empty: closed all day"))
    end = StringField(_l("Closes"), validators=[Optional()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=255)])


class BookingPolicyForm(FlaskForm):
    cancel_free_hours = IntegerField(_l("Free cancellation until (hours before)"), default=24,
                                     validators=[InputRequired(), NumberRange(min=0, max=24 * 60)])
    late_cancel_fee_percent = IntegerField(_l("Late-cancel fee (percent of the price)"), default=50,
                                           validators=[InputRequired(), NumberRange(min=0, max=100)])
    quota_minutes_per_week = IntegerField(_l("Weekly quota per startup (minutes, empty: none)"),
                                          validators=[Optional(), NumberRange(min=1, max=7 * 24 * 60)])


class WaitlistForm(BookingForm):
    pass


class TermsForm(FlaskForm):
    terms_text = TextAreaField(_l("Terms (IP, NDA, safety)"), validators=[Optional(), Length(max=10000)],
                               description=_l("A changed text becomes a new version that bookers must accept."))


class ResolveProblemForm(FlaskForm):
    note = TextAreaField(_l("What was done"), validators=[DataRequired(), Length(max=2000)])


class DeclineTrainingForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class PublicationForm(FlaskForm):
    """Publish (true) or withdraw (false): the hidden field of portal/templates/macros/publication.html."""

    published = BooleanField(_l("Publish"))


class PhotoForm(FlaskForm):
    """The caption of an uploaded photo (the file itself goes through portal.uploads.store_upload)."""

    caption = StringField(_l("Caption"), validators=[Optional(), Length(max=255)])


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)])


class FinishForm(FlaskForm):
    status = SelectField(_l("Status"), choices=choices(BookingStatus, BookingStatus.COMPLETED, BookingStatus.NO_SHOW),
                         validators=[InputRequired()])


class CalendarFeedForm(FlaskForm):
    rotate = BooleanField(_l("New feed address"))
