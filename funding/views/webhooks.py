"""HTML pages of funding: webhooks."""

from __future__ import annotations

from flask import jsonify, request

from funding.payments import construct_event
from funding.views.common import (
    bp,
    log,
)
from portal.extensions import csrf

# ---- Stripe webhooks -------------------------------------------------------------------------

@bp.post("/funding/stripe/webhook")
@csrf.exempt
def stripe_webhook():
    """Verified on the raw body; duplicates and unknown types are answered 200."""
    from funding.webhooks import handle_event

    payload = request.get_data(cache=False)
    try:
        event = construct_event(payload, request.headers.get("Stripe-Signature"))
    except ValueError as error:
        log.warning("stripe webhook refused: %s", error)
        return jsonify({"error": {"code": "validation_error", "message": "invalid signature or payload"}}), 400
    outcome = handle_event(event)
    return jsonify({"received": True, "outcome": outcome})
