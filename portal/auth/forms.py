from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.auth.models import Role

ROLE_CHOICES = [
    (Role.FOUNDER, _l("Founder: I pitch projects and apply to programs")),
    (Role.COMPANY, _l("Anchor company staff: I publish labs and run programs")),
    (Role.MENTOR, _l("Mentor: I offer office hours")),
    (Role.BACKER, _l("Consumer / backer: I vote on ideas and back products")),
]
LOCALE_CHOICES = [("en", "English"), ("zh_CN", "简体中文")]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RegisterForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(min=1, max=120)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=10, max=256)],
                             description=_l("At least 10 characters, not your email address."))
    roles = MultiCheckboxField(_l("I am here as"), choices=ROLE_CHOICES, validators=[DataRequired()])
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES, validators=[Optional()], validate_choice=True)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Remember me"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10, max=256)])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10, max=256)])


class TokenCreateForm(FlaskForm):
    """API: exchange credentials for a personal token."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    name = StringField(_l("Token name"), validators=[Optional(), Length(max=80)])


class TokenNameForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=80)])


class EmptyForm(FlaskForm):
    """CSRF only: for buttons that post (log out, revoke)."""


class LocaleForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES, validators=[DataRequired()])
