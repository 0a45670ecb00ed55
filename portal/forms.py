"""Helpers shared by the HTML views' forms."""

from flask import flash

from portal.errors import PortalError


def attach_errors(form, error: PortalError) -> None:
    """Show a service's field errors next to the fields; anything else as a flash message."""
    shown = False
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + list(messages)
            shown = True
    if not shown:
        flash(error.message, "danger")
