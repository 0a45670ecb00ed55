"""The funding blueprint (HTML) and what its page modules share."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app
from flask_babel import lazy_gettext as _l

from funding.models import (
    CampaignStatus,
    FundingModel,
    PledgeStatus,
)
from funding.payments import get_provider
from portal.errors import PortalError
from portal.forms import attach_errors
from portal.states import labels

log = logging.getLogger(__name__)

bp = Blueprint("funding", "funding", template_folder="templates", static_folder="static",
               static_url_path="/funding/static")

# The labels of funding models and statuses are portal.states.LABELS' (one table for every page and mail).
FUNDING_MODEL_LABELS = labels(FundingModel)
CAMPAIGN_STATUS_LABELS = labels(CampaignStatus)
PLEDGE_STATUS_LABELS = labels(PledgeStatus)
# The ledger summary's rows (totals, not LedgerKind values: those are labelled by LABELS["LedgerKind"]).
LEDGER_LABELS = {
    "pledged": _l("Pledged (gross)"), "collected": _l("Collected"), "dropped": _l("Dropped"),
    "refunded": _l("Refunded"), "fees": _l("Fees"), "net": _l("Net"),
}
STRIPE_JS = "https://js.stripe.com/v3/"


def progress_percent(pledged: int, goal: int) -> int:
    """Whole percent of the goal reached, for the progress bar (integer arithmetic, no floats)."""
    return (pledged * 100) // goal if goal > 0 else 0


# Template globals rather than a context processor: imported macros see globals, not the context.
TEMPLATE_GLOBALS = {"funding_labels": {"funding_model": FUNDING_MODEL_LABELS, "status": CAMPAIGN_STATUS_LABELS,
                                       "pledge": PLEDGE_STATUS_LABELS},
                    "progress_percent": progress_percent}


def stripe_mode() -> bool:
    return get_provider().name == "stripe"


def with_stripe_csp(response):
    """Pages that mount Stripe's Payment Element may load Stripe.js (the one external asset, keys only)."""
    response = current_app.make_response(response)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: https://*.stripe.com; style-src 'self' 'unsafe-inline'; "
        "script-src 'self' https://js.stripe.com; frame-src https://js.stripe.com https://hooks.stripe.com; "
        "connect-src 'self' https://api.stripe.com; frame-ancestors 'none'; form-action 'self'; base-uri 'self'")
    return response


def show_errors(form, error: PortalError) -> None:
    """`portal.forms.attach_errors`, also for a command's nested names (`goal.amount` next to the goal's
    amount field of the form's `goal` FormField)."""
    rest = {}
    for name, messages in error.fields.items():
        target, parts = form, name.split(".")
        for part in parts[:-1]:
            target = getattr(getattr(target, part, None), "form", None)
            if target is None:
                break
        field = getattr(target, parts[-1], None) if target is not None and len(parts) > 1 else None
        if field is not None and isinstance(getattr(field, "errors", None), list | tuple):
            field.errors = list(field.errors) + list(messages)
        else:
            rest[name] = messages
    if rest or not error.fields:
        attach_errors(form, PortalError(error.message, rest))
