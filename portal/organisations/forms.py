from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Email, Length, Optional

KIND_CHOICES = [("startup", _l("Startup")), ("company", _l("Anchor company"))]
MEMBER_ROLE_CHOICES = [("member", _l("Member")), ("owner", _l("Owner"))]


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES, validators=[DataRequired()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=80)])
    website = StringField(_l("Website"), validators=[Optional(), URL(), Length(max=255)])


class MemberForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), choices=MEMBER_ROLE_CHOICES, validators=[DataRequired()])
