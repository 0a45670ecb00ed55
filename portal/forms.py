"""Helpers shared by the WTForms forms of every domain's HTML pages (the API reads typed commands, see
portal/schemas.py; a page turns its validated form into the same command with `from_form`)."""

import weakref

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import _FlaskFormCSRF
from wtforms import Field
from wtforms import IntegerField as _WTFormsIntegerField
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields.core import Label
from wtforms.validators import StopValidation
from wtforms.widgets import TextInput

from portal.errors import PortalError
from portal.inputs import INT_MAX
from portal.money import DEFAULT_CURRENCY, MoneyInputError, currency_code, major_text, parse_major


class LazyCSRFTokenField(CSRFTokenField):
    """The CSRF token is made when the form is rendered (or its token read), not when the form is built.

    WTForms makes it in `process`, so every page that builds a form it never shows (a booking form the
    anonymous visitor does not see) put a token in the session and sent a cookie: the page differed per
    visitor and could not be kept (portal.pagecache). Validation reads the submitted value, not this one."""

    _token = None

    @property
    def current_token(self):
        if self._token is None:
            self._token = self.csrf_impl.generate_csrf_token(self)
        return self._token

    @current_token.setter
    def current_token(self, value):
        self._token = value

    def process(self, *args, **kwargs):
        super(CSRFTokenField, self).process(*args, **kwargs)  # the hidden field's own processing, no token yet


class LazyFlaskFormCSRF(_FlaskFormCSRF):
    field_class = LazyCSRFTokenField


FlaskForm.Meta.csrf_class = LazyFlaskFormCSRF  # every form of the portal is a FlaskForm


class IntegerField(_WTFormsIntegerField):
    """A whole number that fits the database's integer columns: a larger one is this field's error
    (400 naming it), never a database error. Every form uses this one."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not -INT_MAX - 1 <= self.data <= INT_MAX:
            self.data = None
            raise ValueError(str(_l("Out of range: at most %(max)d.", max=INT_MAX)))


class _MoneyLabel(Label):
    """The field's label with its currency: "Goal (CNY)", following the currency the form holds now."""

    def __init__(self, field: "MoneyField", text):
        self._field = weakref.ref(field)
        super().__init__(field.id, text)

    @property
    def text(self):
        field = self._field()
        if field is None:
            return self._text
        return _("%(label)s (%(currency)s)", label=self._text, currency=field.currency)

    @text.setter
    def text(self, value):
        self._text = value


class MoneyField(Field):
    """An amount as people write it, in major units of the currency ("500", "500.00", "1,299.00" in the
    page's locale): `data` is integer minor units (50000), which is what the commands take, so
    `from_form` needs no conversion. More decimals than the currency has, a sign, or an amount outside
    [min_minor, max_minor] is this field's error. A stored amount (minor units, from `data=`/`obj=`) is
    shown back as major units ("500.00").

    The currency is, in order: `field.currency = ...` set by the view (the campaign's, the pledge's), the
    value of the sibling field named `currency_field` (a price row's currency), else `currency`.
    Use `InputRequired` rather than `DataRequired` for a required amount: 0 is an amount."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, currency: str = DEFAULT_CURRENCY,
                 currency_field: str | None = None, min_minor: int = 0, max_minor: int = INT_MAX, **kwargs):
        render_kw = {"inputmode": "decimal", "autocomplete": "off", **(kwargs.pop("render_kw", None) or {})}
        form = kwargs.get("_form")
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self._form_ref = weakref.ref(form) if form is not None else None
        self._fallback_currency = currency
        self._currency: str | None = None
        self.currency_field = currency_field
        self.min_minor, self.max_minor = min_minor, max_minor
        self.label = _MoneyLabel(self, self.label.text)

    @property
    def currency(self) -> str:
        if self._currency:
            return self._currency
        form = self._form_ref() if self._form_ref is not None else None
        sibling = form._fields.get(self.currency_field) if form is not None and self.currency_field else None
        if sibling is not None and isinstance(sibling.data, str) and sibling.data.strip():
            return currency_code(sibling.data)
        return currency_code(self._fallback_currency)

    @currency.setter
    def currency(self, value: str | None) -> None:
        self._currency = currency_code(value) if value else None

    def process_formdata(self, valuelist):
        # The text is turned into minor units in pre_validate, once the currency field beside it is read.
        if valuelist:
            self.data = None

    def pre_validate(self, form):
        if not self.raw_data:
            return
        try:
            self.data = parse_major(self.raw_data[0], self.currency, minimum=self.min_minor,
                                    maximum=self.max_minor)
        except MoneyInputError as error:
            self.data = None
            raise StopValidation(str(error)) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if isinstance(self.data, str):  # text a view put there as it stands
            return self.data
        return major_text(self.data, self.currency) if isinstance(self.data, int) else ""


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
