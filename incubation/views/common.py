"""The incubation blueprint (HTML) and what its page modules share: labels, flash helpers."""


from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _

from incubation.forms import (
    APPLICATION_STATUS_LABELS,
    CHAIN_CHOICES,
    CONFIDENTIALITY_CHOICES,
    LANGUAGE_CHOICES,
    MODE_CHOICES,
    RECOMMENDATION_CHOICES,
    STAGE_CHOICES,
    STATUS_LABELS,
    SUPPORT_STATUS_CHOICES,
)
from incubation.models import Project
from portal.db import rollback
from portal.errors import PortalError
from portal.forms import attach_errors

bp = Blueprint("incubation", "incubation", template_folder="templates")  # templates in incubation/templates

PER_PAGE = 24


# Template globals rather than a context processor: imported macros see globals, not the context.
TEMPLATE_GLOBALS = {"incubation_labels": {
    "mode": dict(MODE_CHOICES), "stage": dict(STAGE_CHOICES), "status": STATUS_LABELS,
    "language": dict(LANGUAGE_CHOICES), "chain": dict(CHAIN_CHOICES), "support": dict(SUPPORT_STATUS_CHOICES),
    "confidentiality": dict(CONFIDENTIALITY_CHOICES), "recommendation": dict(RECOMMENDATION_CHOICES),
    "application": APPLICATION_STATUS_LABELS}}


# ---- helpers ---------------------------------------------------------------------------------

def run_action(action, success: str, form=None) -> bool:
    """Run a service call; flash its success or its refusal. Returns whether it worked."""
    try:
        action()
    except PortalError as error:
        if form is not None and any(hasattr(getattr(form, n, None), "errors") for n in error.fields):
            flash(error.message, "danger")
            attach_errors(form, error)  # each field's refusal next to its field
        elif form is not None:
            attach_errors(form, error)  # (flashes the message)
        else:  # no form to show them on: each refusal its own line, never glued with punctuation
            flash(error.message, "danger")
            for message in dict.fromkeys(m for msgs in error.fields.values() for m in msgs if m != error.message):
                flash(str(message), "danger")
        rollback()  # nothing of a refused action is kept, and its queued mail is dropped
        return False
    flash(success, "success")
    return True


def form_failed(form) -> None:
    messages = [f"{getattr(form, name).label.text}: {m}" if hasattr(form, name) else str(m)
                for name, msgs in form.errors.items() for m in (msgs if isinstance(msgs, list) else [msgs])]
    for message in messages or [_("The form was not valid.")]:
        flash(str(message), "danger")


def back_to_project(project: Project, anchor: str = ""):
    return redirect(url_for("incubation.project_detail", project_id=project.id) + (f"#{anchor}" if anchor else ""))
