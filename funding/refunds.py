"""Refunds by admins or by the campaign's team (`policies.REFUND_BACKER`), with the same never-twice
discipline as charges (see funding/settlement.py). The backer is mailed when the refund is recorded.

This module commits, like settlement, because the rule that makes retries safe is about commits:

1. Claim: lock the pledge, check the amount, write a refund attempt (a `PaymentAttempt` whose
   idempotency key names the pledge, the attempt number and the refunded total it builds on), COMMIT.
   The pledge lock ends with that commit.
2. Call the provider with that key and no database transaction open.
3. Record: lock the pledge again, mark the attempt, write the ledger and the pledge state, COMMIT.

A crash between 1 and 3 leaves a pending refund attempt. The next try (the admin asking again for the
same amount, or the periodic settlement job) re-sends it with the SAME key and parameters, so the
provider answers with the refund it already made. Only one refund per pledge is in flight at a time.

Recording raises the pledge's refunded total to a lower bound (the total before the claim plus this
refund) instead of adding blindly, so a `charge.refunded` webhook about the same refund that arrived
first is never counted twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from funding import ledger
from funding.attempts import lock_pledge, next_attempt_number, serial_on_sqlite
from funding.models import REFUND_KEY_PATTERN, AttemptStatus, PaymentAttempt, Pledge, PledgeStatus
from funding.payments import ProviderUnavailable, RefundResult, get_provider
from funding.schemas import RefundRequest
from portal import audit
from portal.db import commit, rollback, utcnow
from portal.errors import Conflict, PortalError, ValidationFailed
from portal.extensions import db
from portal.mail import send_to_user

log = logging.getLogger(__name__)

# Test hook: called after the provider refunded and before the outcome is recorded (the worst moment
# for a crash: the money went back but the portal does not know yet).
AFTER_PROVIDER_CALL: Callable[[int], None] | None = None

REFUNDABLE = (PledgeStatus.COLLECTED, PledgeStatus.DISPUTED)


def refund_key(pledge_id: int, number: int, refunded_before: int) -> str:
    return f"pledge-{pledge_id}-refund-{number}-after-{refunded_before}"


def refunded_before(attempt: PaymentAttempt) -> int:
    """The pledge's refunded total when this refund was claimed (kept in its idempotency key)."""
    return int(attempt.idempotency_key.rsplit("-after-", 1)[1])


def pending_refund(pledge_id: int) -> PaymentAttempt | None:
    return db.session.scalar(select(PaymentAttempt).where(
        PaymentAttempt.pledge_id == pledge_id, PaymentAttempt.status == AttemptStatus.PENDING,
        PaymentAttempt.idempotency_key.like(REFUND_KEY_PATTERN)))


def _call(attempt: PaymentAttempt, pledge: Pledge) -> dict:
    return {"payment_ref": pledge.payment_ref, "amount": attempt.amount, "idempotency_key": attempt.idempotency_key}


def _claim(pledge_id: int, amount: int | None, by_team: bool = False) -> tuple[int, dict]:
    """Phase 1. Raises (writing nothing) when the refund is not allowed; otherwise commits a pending attempt."""
    pledge = lock_pledge(pledge_id)
    if pledge.status not in REFUNDABLE or not pledge.payment_ref:
        raise Conflict(_("Only a collected pledge can be refunded."), {"status": [pledge.status]})
    refundable = pledge.amount + pledge.shipping_fee - pledge.refunded_amount
    amount = refundable if amount is None else amount
    in_flight = pending_refund(pledge.id)
    if in_flight is not None:
        # An earlier request crashed or lost the provider: asking again for the same amount re-sends that
        # refund with its key; another amount must wait until it is resolved.
        if amount != in_flight.amount:
            raise Conflict(_("A refund of %(amount)s for this pledge is still in flight; wait until it is "
                             "recorded, then check the pledge before refunding more.",
                             amount=_money(in_flight.amount, pledge)), {"amount": [_("refund in flight")]})
        attempt_id, call = in_flight.id, _call(in_flight, pledge)
        commit()
        return attempt_id, call
    if amount <= 0 or amount > refundable:
        raise ValidationFailed.field("amount", _("At most %(amount)s can be refunded.",
                                                 amount=_money(max(refundable, 0), pledge)))
    number = next_attempt_number(pledge)
    attempt = PaymentAttempt(pledge_id=pledge.id, number=number,
                             idempotency_key=refund_key(pledge.id, number, pledge.refunded_amount),
                             amount=amount, currency=pledge.campaign.currency, status=AttemptStatus.PENDING)
    db.session.add(attempt)
    db.session.flush()
    audit.record("pledge.refund_requested", pledge, after={"attempt": number, "amount": amount,
                                                           "currency": attempt.currency,
                                                           "by": "team" if by_team else "admin"})
    attempt_id, call = attempt.id, _call(attempt, pledge)
    commit()
    return attempt_id, call


def _money(amount: int, pledge: Pledge) -> str:
    from portal.money import format_money

    return format_money(amount, pledge.campaign.currency)


def refund_pledge(pledge_id: int, cmd: RefundRequest, *, by_team: bool = False) -> Pledge:
    """Refund all (`cmd.amount` None) or part of a collected pledge. Commits; safe to retry after any crash.

    The caller checked the permission: platform admins, or the campaign's team (`by_team`, recorded in the
    audit trail next to the acting user)."""
    with serial_on_sqlite():
        try:
            attempt_id, call = _claim(pledge_id, cmd.amount, by_team)
        except BaseException:
            rollback()
            raise
    # commit() ended the transaction: no row lock and no connection is held during the call.
    try:
        result = get_provider().refund(**call)
    except ProviderUnavailable as error:
        log.warning("pledge %s: provider unavailable, refund attempt %s stays pending: %s", pledge_id,
                    attempt_id, error)
        raise Conflict(_("The payment provider could not be reached. The refund stays pending and is sent "
                         "again with the same key, so it never happens twice."),
                       {"provider": [str(error)[:200]]}) from None
    except PortalError as error:  # the provider refused the refund itself (e.g. more than was charged)
        _record(attempt_id, None, error=error.message)
        raise
    if AFTER_PROVIDER_CALL is not None:
        AFTER_PROVIDER_CALL(pledge_id)
    return _record(attempt_id, result)


def _record(attempt_id: int, result: RefundResult | None, error: str | None = None) -> Pledge:
    """Phase 3. Idempotent. Commits."""
    with serial_on_sqlite():
        try:
            pledge_id = db.session.scalar(select(PaymentAttempt.pledge_id).where(PaymentAttempt.id == attempt_id))
            pledge = lock_pledge(pledge_id)
            attempt = db.session.get(PaymentAttempt, attempt_id, populate_existing=True)
            if attempt.status == AttemptStatus.PENDING:
                attempt.finished_at = utcnow()
                if result is None:
                    attempt.status = AttemptStatus.FAILED
                    attempt.error_message = (error or "")[:500]
                    audit.record("pledge.refund_failed", pledge, after={"attempt": attempt.number,
                                                                        "error": attempt.error_message})
                else:
                    attempt.status = AttemptStatus.SUCCEEDED
                    attempt.payment_ref = result.refund_ref
                    written = ledger.catch_up_refunds(pledge, result.refund_ref,
                                                      refunded_before(attempt) + result.amount)
                    if written:
                        _mail_backer(pledge, written)
            commit()
        except BaseException:
            rollback()
            raise
    return db.session.get(Pledge, pledge_id)


def _mail_backer(pledge: Pledge, amount: int) -> None:
    """Tell the backer, in their language, that money is on its way back (sent after the commit)."""
    campaign = pledge.campaign
    send_to_user(pledge.backer, lambda: (
        _("Refund for your pledge to %(title)s", title=campaign.title),
        _("Hello %(name)s,\n\n%(amount)s of your pledge to %(title)s has been refunded to your card. It can take a "
          "few days to show on your statement.", name=pledge.backer.name, amount=_money(amount, pledge),
          title=campaign.title)), kind="pledge.refund")


def resolve_pending(started_before: datetime | None = None) -> int:
    """Re-send refunds a crash left pending (same key: the provider never refunds twice). Commits.

    The periodic settlement job calls this with a cut-off, so a refund a request is sending right now is
    left to that request.
    """
    stmt = select(PaymentAttempt.pledge_id).where(PaymentAttempt.status == AttemptStatus.PENDING,
                                                  PaymentAttempt.idempotency_key.like(REFUND_KEY_PATTERN))
    if started_before is not None:
        stmt = stmt.where(PaymentAttempt.created_at < started_before)
    pledge_ids = list(db.session.scalars(stmt.order_by(PaymentAttempt.id)))
    resolved = 0
    for pledge_id in pledge_ids:
        with serial_on_sqlite():
            attempt = pending_refund(pledge_id)
            pledge = db.session.get(Pledge, pledge_id)
            if attempt is None or not pledge.payment_ref:
                continue
            attempt_id, call = attempt.id, _call(attempt, pledge)
            commit()  # end the transaction (and whatever the caller had pending) before calling the provider
        try:
            result = get_provider().refund(**call)
        except ProviderUnavailable as error:
            log.warning("refund attempt %s still pending: %s", attempt_id, error)
            continue
        except PortalError as error:
            _record(attempt_id, None, error=error.message)
            continue
        _record(attempt_id, result)
        resolved += 1
    return resolved
