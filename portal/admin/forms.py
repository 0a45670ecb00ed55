from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.auth.models import Role

ROLE_CHOICES = [(role, role) for role in Role.values()]


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired()])
    action = SelectField(choices=[("grant", "grant"), ("revoke", "revoke")], validators=[DataRequired()])


class UserSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional()])


class VerificationForm(FlaskForm):
    """Verify or unverify an organisation; the note goes into the audit log."""

    verified = SelectField(_l("Verified"), choices=[("true", _l("Verified")), ("false", _l("Not verified"))],
                           validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
