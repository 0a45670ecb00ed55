"""Forms of funding's HTML pages (labels, widgets, CSRF). A submitted form becomes the same command the JSON
API reads (`funding.schemas`, through `portal.schemas.from_form`).

API amounts are integer minor units; every money field of these pages asks for major units as people write
them ("500", "1,299.00" is ¥1,299.00) through `portal.forms.MoneyField`, whose data is already minor units
(without floats), so `from_form` builds the same command the API reads. The currency is the campaign's
(the view sets `field.currency`) or the form's own currency field.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from funding.models import FinancingStatus, FundingModel
from incubation.forms import AwareDateTimeField, CommaListField
from portal.errors import ValidationFailed
from portal.forms import IntegerField, MoneyField
from portal.money import MoneyInputError, parse_major

FUNDING_MODEL_CHOICES = [(FundingModel.ALL_OR_NOTHING, _l("All or nothing")),
                         (FundingModel.KEEP_IT_ALL, _l("Keep it all"))]


def to_minor(value: str | int | None, currency: str, field: str = "amount") -> int | None:
    """'1,299.50' CNY -> 129950 (`portal.money.parse_major`), a 400 naming `field` otherwise. A number is
    already minor units (a `MoneyField`'s data) and is returned as it is."""
    if isinstance(value, int):
        return value
    try:
        return parse_major(value, currency)
    except MoneyInputError as error:
        raise ValidationFailed.field(field, str(error)) from None


class GoalForm(Form):
    """`{amount, currency}` of the HTML pages: the amount in major units of the currency beside it."""

    amount = MoneyField(_l("Goal"), validators=[InputRequired(message=_l("Required."))],
                        currency_field="currency", min_minor=1)
    currency = StringField(_l("Currency"), default="CNY",
                           validators=[Optional(), Regexp(r"^[A-Za-z]{3}$", message=_l("Use an ISO 4217 code."))])


class AmountForm(GoalForm):
    amount = MoneyField(_l("Amount"), validators=[InputRequired(message=_l("Required."))],
                        currency_field="currency", min_minor=1)


class CampaignForm(FlaskForm):
    project_id = IntegerField(_l("Project"), validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=160)])
    story = TextAreaField(_l("Story"), validators=[Optional(), Length(max=20000)])
    goal = FormField(GoalForm, label=_l("Goal"))
    deadline = AwareDateTimeField(_l("Deadline"), validators=[DataRequired()])
    launch_at = AwareDateTimeField(_l("Launch (optional)"), validators=[Optional()],
                                   description=_l("When the approved campaign opens for pledges, in your time zone. "
                                                  "Empty: as soon as it is approved."))
    funding_model = SelectField(_l("Funding model"), choices=FUNDING_MODEL_CHOICES,
                                default=FundingModel.ALL_OR_NOTHING, validators=[Optional()])


class RewardForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=160)])
    amount = MoneyField(_l("Minimum pledge"), validators=[InputRequired(message=_l("Required."))], min_minor=1)
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    quantity = IntegerField(_l("Limited quantity"), validators=[Optional()])
    estimated_delivery = StringField(_l("Estimated delivery (YYYY-MM-DD)"),
                                     validators=[Optional(), Regexp(r"^\d{4}-\d{2}-\d{2}$")])
    variants = CommaListField(_l("Variants (comma-separated)"), validators=[Optional()])
    # `shipping_fees`: a text field of the page ("CN=0, WORLD=120.00", major units), parsed by the view.


class PledgePageForm(FlaskForm):
    """The HTML form: the amount in major units (e.g. 1299.00)."""

    reward_id = SelectField(_l("Reward"), choices=[], validators=[Optional()])
    amount = MoneyField(_l("Pledge amount"), validators=[InputRequired(message=_l("Required."))], min_minor=1)
    shipping_region = SelectField(_l("Ship to region"), choices=[], validators=[Optional()])
    payment_method = StringField(_l("Card number"), validators=[Optional(), Length(max=255)],
                                 description=_l("Sandbox: 4242424242424242 succeeds, 4000000000000341 is declined "
                                                "at the deadline, 4000002500003155 needs authentication."))
    setup_intent = HiddenField()


class CardForm(FlaskForm):
    payment_method = StringField(_l("Card number"), validators=[Optional(), Length(max=255)])
    setup_intent = HiddenField()


class RefundForm(FlaskForm):
    amount = MoneyField(_l("Amount to refund"), validators=[Optional()], min_minor=1,
                        description=_l("Leave it empty to refund everything left."))


class SurveyForm(FlaskForm):
    name = StringField(_l("Recipient name"), validators=[DataRequired(), Length(max=300)])
    address = TextAreaField(_l("Address"), validators=[DataRequired(), Length(max=300)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=300)])
    postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=300)])
    country = StringField(_l("Country"), validators=[DataRequired(), Length(max=300)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=300)])
    variant = SelectField(_l("Variant"), choices=[], validate_choice=False, validators=[Optional()])


class StretchGoalForm(FlaskForm):
    amount = MoneyField(_l("Amount"), validators=[InputRequired(message=_l("Required."))], min_minor=1)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=160)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])


class UpdateForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=160)])
    body = TextAreaField(_l("Update"), validators=[DataRequired(), Length(max=20000)])
    backers_only = BooleanField(_l("Backers only"))


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=5000)])
    is_question = BooleanField(_l("This is a question for the team"))
    parent_id = IntegerField(validators=[Optional()])


class RejectionForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the team"), validators=[DataRequired(), Length(max=2000)],
                           description=_l("Mailed to the campaign's team with the rejection."))


class MediaForm(FlaskForm):
    file = FileField(_l("Image"))


class FinancingForm(FlaskForm):
    project_id = IntegerField(_l("Project"), validators=[DataRequired()])
    organisation_id = IntegerField(_l("Addressed to"), validators=[Optional()],
                                   description=_l("a verified company or fund; the platform's fund when empty"))
    amount = FormField(AmountForm, label=_l("Amount"))
    use_of_funds = TextAreaField(_l("Use of funds"), validators=[DataRequired(), Length(max=10000)])
    terms = TextAreaField(_l("Proposed terms"), validators=[DataRequired(), Length(max=10000)])


class FinancingReviewForm(FlaskForm):
    """HTML review of a financing application; the API sends `{scores: {team, market, terms}, ...}`."""

    team = IntegerField(_l("Team (0-5)"), validators=[InputRequired(), NumberRange(min=0, max=5)])
    market = IntegerField(_l("Market and traction (0-5)"), validators=[InputRequired(), NumberRange(min=0, max=5)])
    terms = IntegerField(_l("Terms and use of funds (0-5)"), validators=[InputRequired(), NumberRange(min=0, max=5)])
    recommendation = SelectField(_l("Recommendation"), choices=[("", _l("Choose…")), ("yes", _l("Invest")),
                                                               ("maybe", _l("Maybe")), ("no", _l("Do not invest"))],
                                 validators=[DataRequired()])
    comment = TextAreaField(_l("Comment for the other reviewers"), validators=[Optional(), Length(max=5000)])

    def scores(self) -> dict[str, int]:
        return {"team": self.team.data, "market": self.market.data, "terms": self.terms.data}


class FinancingDecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[(FinancingStatus.APPROVED, _l("Approve")),
                                                    (FinancingStatus.REJECTED, _l("Reject"))],
                           validators=[DataRequired()])
    note = TextAreaField(_l("Note to the founders"), validators=[DataRequired(), Length(max=5000)])
