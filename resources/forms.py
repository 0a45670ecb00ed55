"""One form for the HTML page and the JSON API (`portal.api.parse` flattens nested JSON lists)."""

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
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

from resources.models import Audience, PriceUnit, ResourceKind
from resources.services import DEFAULT_TIMEZONE, MAX_AMOUNT, is_valid_timezone

KIND_LABELS = {
    ResourceKind.LAB: _l("Lab"),
    ResourceKind.EQUIPMENT: _l("Equipment"),
    ResourceKind.WORKSHOP: _l("Workshop"),
    ResourceKind.PRODUCTION_LINE: _l("Production line"),
}
AUDIENCE_LABELS = {
    Audience.INCUBATEE: _l("Incubated startups"),
    Audience.STARTUP: _l("Other startups"),
    Audience.EXTERNAL: _l("External customers"),
}
UNIT_LABELS = {PriceUnit.HOUR: _l("per hour"), PriceUnit.USE: _l("per use")}

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
    amount = IntegerField(_l("Amount in minor units (fen)"),
                          validators=[InputRequired(), NumberRange(min=0, max=MAX_AMOUNT)],
                          description=_l("12000 is ¥120.00"))
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

    def resource_data(self) -> dict:
        """The input of `services.create_resource`."""
        data = {k: v for k, v in self.data.items() if k not in ("csrf_token", "specifications_text")}
        data["specifications"] = self.specifications()
        data["prices"] = [dict(p) for p in self.prices.data]
        data["opening_hours"] = [dict(h) for h in self.opening_hours.data]
        return data
