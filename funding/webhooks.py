"""Stripe webhooks: verified on the raw body, deduplicated by event id, unknown types acknowledged.

Deliveries are at-least-once and unordered. Each handler is guarded by state (an attempt already
recorded is left alone, ledger entries are unique by reference), and payment events re-fetch the
PaymentIntent from the provider before acting, so a late or repeated event cannot undo anything. The
re-fetch happens before anything is written, with no transaction open (no lock held during the call).
"""

from __future__ import annotations

import logging

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from funding import ledger
from funding.models import AttemptStatus, LedgerKind, PaymentAttempt, Pledge, PledgeStatus, WebhookEvent
from funding.payments import ChargeResult, ChargeStatus, ProviderUnavailable, get_provider
from funding.schemas import StripeEvent
from funding.services import card_setup_failed, set_pledge_status
from portal import audit
from portal.errors import PortalError
from portal.extensions import db

log = logging.getLogger(__name__)


def handle_event(event: dict) -> str:
    """Record the event id (unique) and dispatch. Returns a short outcome. Flushes; the caller commits."""
    try:
        parsed = StripeEvent.model_validate(event)
    except ValidationError:
        return "ignored: malformed"
    event_id, event_type = parsed.id or "", parsed.type or ""
    if not event_id:
        return "ignored: no id"
    if db.session.scalar(select(WebhookEvent.id).where(WebhookEvent.event_id == event_id)) is not None:
        return "duplicate"
    obj = parsed.obj
    handler = HANDLERS.get(event_type)
    # Re-fetch from the provider first, with no transaction open (nothing is written yet): no lock is
    # held during the call; the event row and the handler's writes follow in a new transaction.
    fetcher = FETCHERS.get(event_type)
    fetched = fetcher(obj) if fetcher else None
    row = WebhookEvent(event_id=event_id, type=event_type[:100])
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:  # the same event delivered twice at the same time
        return "duplicate"
    outcome = handler(obj, fetched) if handler else "ignored"
    row.outcome = outcome[:255]
    db.session.flush()
    return outcome


def _pledge_for_setup_intent(obj: dict) -> Pledge | None:
    ref = obj.get("id")
    return db.session.scalar(select(Pledge).where(Pledge.setup_intent_ref == ref)) if ref else None


def _call_provider(call):
    """Run `call` (a provider read) with no transaction open; None when the provider cannot answer."""
    from funding.services import end_transaction_before_call

    end_transaction_before_call()
    try:
        return call()
    except (ProviderUnavailable, PortalError, KeyError):
        return None


def fetch_setup_intent_status(obj: dict) -> str | None:
    if _pledge_for_setup_intent(obj) is None:
        return None
    info = _call_provider(lambda: get_provider().retrieve_setup_intent(obj["id"]))
    return info.status if info is not None else None


def fetch_payment(obj: dict) -> ChargeResult | None:
    attempt = _attempt_for(obj)
    if attempt is None or attempt.status not in (AttemptStatus.PENDING, AttemptStatus.REQUIRES_ACTION):
        return None
    return _call_provider(lambda: get_provider().retrieve_payment(obj["id"]))


def setup_intent_succeeded(obj: dict, fetched=None) -> str:
    pledge = _pledge_for_setup_intent(obj)
    if pledge is None:
        return "no pledge"
    if not pledge.payment_method_ref and obj.get("payment_method"):
        pledge.payment_method_ref = obj["payment_method"]
        audit.record("pledge.card_saved", pledge, after={"setup_intent": obj.get("id")}, actor_id=None)
    return "card saved"


def setup_intent_failed(obj: dict, fetched: str | None = None) -> str:
    """The card could not be saved: the pledge loses it and the backer is mailed a link to add another."""
    pledge = _pledge_for_setup_intent(obj)
    if pledge is None:
        return "no pledge"
    # Events arrive unordered: a SetupIntent retried and succeeded since then has a working card.
    status = fetched or obj.get("status")
    if status == "succeeded":
        return "setup succeeded since"
    pledge = db.session.scalars(select(Pledge).where(Pledge.id == pledge.id).with_for_update()
                                .execution_options(populate_existing=True)).one()
    error = obj.get("last_setup_error") or {}
    reason = str(error.get("code") or error.get("message") or "setup_failed")
    if not card_setup_failed(pledge, obj.get("id"), reason):
        return f"pledge {pledge.id} {pledge.status}: card no longer needed"
    return f"pledge {pledge.id} card failed"


def _attempt_for(obj: dict) -> PaymentAttempt | None:
    metadata = obj.get("metadata") or {}
    attempt = None
    if str(metadata.get("attempt_id") or "").isdigit():
        attempt = db.session.get(PaymentAttempt, int(metadata["attempt_id"]))
    if attempt is None and obj.get("id"):
        attempt = db.session.scalar(select(PaymentAttempt).where(PaymentAttempt.payment_ref == obj["id"]))
    return attempt


def payment_intent_event(obj: dict, fetched: ChargeResult | None = None) -> str:
    """succeeded / payment_failed / requires_action: re-fetch the PaymentIntent and record what it says."""
    from funding.settlement import record_charge

    attempt = _attempt_for(obj)
    if attempt is None:
        return "no attempt"
    if attempt.status not in (AttemptStatus.PENDING, AttemptStatus.REQUIRES_ACTION):
        return "already recorded"
    result = fetched or _result_from_payload(obj)
    pledge = db.session.scalars(select(Pledge).where(Pledge.id == attempt.pledge_id).with_for_update()
                                .execution_options(populate_existing=True)).one()
    db.session.refresh(attempt)
    if attempt.status not in (AttemptStatus.PENDING, AttemptStatus.REQUIRES_ACTION):
        return "already recorded"
    record_charge(attempt, pledge, result, final=pledge.final_retry_done)
    return f"pledge {pledge.id} {pledge.status}"


def _result_from_payload(obj: dict) -> ChargeResult:
    status = obj.get("status")
    if status == "succeeded":
        return ChargeResult(ChargeStatus.SUCCEEDED, obj.get("id"))
    if status == "requires_action":
        return ChargeResult(ChargeStatus.REQUIRES_ACTION, obj.get("id"), error_code="authentication_required")
    if status == "processing":
        return ChargeResult(ChargeStatus.PROCESSING, obj.get("id"))
    error = obj.get("last_payment_error") or {}
    return ChargeResult(ChargeStatus.FAILED, obj.get("id"), error_code=error.get("code") or "payment_failed",
                        error_message=error.get("message"))


def _pledge_for_payment(payment_ref: str | None) -> Pledge | None:
    if not payment_ref:
        return None
    return db.session.scalars(select(Pledge).where(Pledge.payment_ref == payment_ref).with_for_update()).first()


def charge_refunded(obj: dict, fetched=None) -> str:
    """A refund, also one made in the Stripe dashboard: catch the ledger up to the charge's refunded total."""
    pledge = _pledge_for_payment(obj.get("payment_intent"))
    if pledge is None:
        return "no pledge"
    refunded_total = int(obj.get("amount_refunded") or 0)
    delta = ledger.catch_up_refunds(pledge, f"{obj.get('id')}:upto:{refunded_total}", refunded_total)
    if delta <= 0:
        return "already recorded"
    return f"pledge {pledge.id} refunded {delta}"


def dispute_created(obj: dict, fetched=None) -> str:
    pledge = _pledge_for_payment(obj.get("payment_intent"))
    if pledge is None:
        return "no pledge"
    amount = int(obj.get("amount") or 0)
    entry = ledger.append(pledge.campaign, LedgerKind.DISPUTE, -amount, f"dispute:{obj.get('id')}", pledge=pledge,
                          memo=str(obj.get("reason") or "")[:200])
    if entry is not None and pledge.status == PledgeStatus.COLLECTED:
        set_pledge_status(pledge, PledgeStatus.DISPUTED, "pledge.disputed", dispute=obj.get("id"))
    return f"pledge {pledge.id} disputed"


HANDLERS = {
    "setup_intent.succeeded": setup_intent_succeeded,
    "setup_intent.setup_failed": setup_intent_failed,
    "payment_intent.succeeded": payment_intent_event,
    "payment_intent.payment_failed": payment_intent_event,
    "payment_intent.requires_action": payment_intent_event,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": dispute_created,
}

# What a handler re-fetches from the provider before anything is written (see `handle_event`).
FETCHERS = {
    "setup_intent.setup_failed": fetch_setup_intent_status,
    "payment_intent.succeeded": fetch_payment,
    "payment_intent.payment_failed": fetch_payment,
    "payment_intent.requires_action": fetch_payment,
}
