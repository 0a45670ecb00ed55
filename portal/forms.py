"""Helpers shared by the WTForms forms of every domain's HTML pages (the API reads typed commands, see
portal/schemas.py; a page turns its validated form into the same command with `from_form`)."""

from flask import flash
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField as _WTFormsIntegerField

from portal.errors import PortalError
from portal.inputs import INT_MAX


class IntegerField(_WTFormsIntegerField):
    """A whole number that fits the database's integer columns: a larger one is this field's error
    (400 naming it), never a database error. Every form uses this one."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not -INT_MAX - 1 <= self.data <= INT_MAX:
            self.data = None
            raise ValueError(str(_l("Out of range: at most %(max)d.", max=INT_MAX)))


def attach_errors(form, error: PortalError) -> None:
    """Show a service's field errors next to the fields; anything else as a flash message.

    The refused call must have run inside `portal.db.attempt()`: the page answers 200, which commits."""
    shown = False
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + list(messages)
            shown = True
    if not shown:
        flash(error.message, "danger")
