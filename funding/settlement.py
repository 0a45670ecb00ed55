"""Settlement: close campaigns at their deadline and collect pledges, never charging anyone twice.

This module commits (it runs from the CLI and the job system, never inside a request's unit of
work), because the rule that makes reruns safe is about commits:

1. Claim: lock the pledge, check its state, write a `PaymentAttempt` (status pending) with an
   idempotency key derived from the pledge and attempt number, COMMIT.
2. Call the provider with that key and no database transaction open.
3. Record: lock the pledge again, write the outcome, the pledge state and the ledger, COMMIT.

A crash between 1 and 3 leaves a pending attempt; the next run re-sends it with the SAME key and
the same parameters, so the provider answers with the PaymentIntent it already made instead of
charging again. Recording is guarded by the attempt and pledge states, and ledger entries are
unique by reference, so recording twice (a rerun, a webhook) changes nothing.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from funding import ledger, notices
from funding.attempts import lock_pledge, next_attempt_number, serial_on_sqlite
from funding.models import (
    OUTSTANDING_PLEDGE_STATUSES,
    AttemptStatus,
    Campaign,
    CampaignStatus,
    FundingModel,
    LedgerKind,
    PaymentAttempt,
    Pledge,
    PledgeStatus,
)
from funding.payments import ChargeResult, ChargeStatus, ProviderUnavailable, card_text, get_provider
from funding.services import set_pledge_status
from portal import audit
from portal.db import commit, rollback, utcnow
from portal.extensions import db
from portal.mail import send_to_user
from portal.urls import external_url

log = logging.getLogger(__name__)

REMINDER_EVERY = timedelta(hours=48)
GRACE_PERIOD = timedelta(days=7)
REFUND_IN_FLIGHT = timedelta(minutes=5)

# Test hook: called after the provider answered and before the outcome is recorded (a crash there is
# the worst case: the card was charged but the portal does not know yet).
AFTER_PROVIDER_CALL: Callable[[int], None] | None = None


@dataclass
class SettleReport:
    campaigns: dict[int, str] = field(default_factory=dict)
    outcomes: Counter = field(default_factory=Counter)

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] += 1


class RateLimiter:
    """At most `rate` calls per second across the threads of this process (evenly spaced: a conservative
    token bucket)."""

    def __init__(self, rate: float | None):
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_at)
            self.next_at = start + self.interval
        delay = start - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class SharedRateLimiter:
    """At most `rate` provider calls per second across every process and host that settles, spaced evenly
    like `RateLimiter`, with the schedule kept in Redis: one Lua script (atomic) reads the next free slot,
    books it and answers how long to wait. Redis's own clock (TIME) is the only clock, so hosts whose
    clocks differ still share one schedule.

    When Redis cannot be reached the limit falls back to this process (`RateLimiter`), says so in the log,
    and Redis is tried again after `RETRY_AFTER` seconds."""

    KEY = "portal:funding:settle:provider-calls"
    RETRY_AFTER = 30.0
    BOOK_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], string.format('%.0f', start + interval), 'PX',
           math.floor((start + interval - now) / 1000) + 1000)
return string.format('%.0f', start - now)
"""

    def __init__(self, rate: float, redis_url: str, key: str | None = None):
        from redis import Redis

        self.interval_us = math.ceil(1_000_000 / rate)
        self.key = key or self.KEY
        self.redis = Redis.from_url(redis_url, socket_connect_timeout=1.0, socket_timeout=1.0)
        self.book_slot = self.redis.register_script(self.BOOK_SLOT)
        self.local = RateLimiter(rate)
        self.redis_back_at = 0.0  # monotonic time until which only the local limiter is used
        self.lock = threading.Lock()

    def _fall_back(self, error: Exception) -> None:
        with self.lock:
            if self.redis_back_at <= time.monotonic():
                log.warning("settlement rate limit: Redis unreachable (%s); limiting this process only for "
                            "%.0f s", type(error).__name__, self.RETRY_AFTER)
            self.redis_back_at = time.monotonic() + self.RETRY_AFTER

    def wait(self) -> None:
        from redis.exceptions import RedisError

        if self.redis_back_at <= time.monotonic():
            try:
                delay_us = int(self.book_slot(keys=[self.key], args=[self.interval_us]))
            except (RedisError, OSError) as error:
                self._fall_back(error)
            else:
                if delay_us > 0:
                    time.sleep(delay_us / 1_000_000)
                return
        self.local.wait()


Limiter = RateLimiter | SharedRateLimiter


def rate_limiter(rate: float | None) -> Limiter:
    """The settlement's limit on provider calls: shared through Redis when `REDIS_URL` is set."""
    redis_url = current_app.config.get("REDIS_URL")
    if rate and redis_url:
        return SharedRateLimiter(rate, redis_url)
    return RateLimiter(rate)


# ---- closing a campaign ----------------------------------------------------------------------

def _lock_campaign(campaign_id: int) -> Campaign:
    return db.session.scalars(select(Campaign).where(Campaign.id == campaign_id).with_for_update()
                              .execution_options(populate_existing=True)).one()


def close_campaign(campaign_id: int, *, force: bool = False, now: datetime | None = None) -> str:
    """Decide a live campaign's outcome at its deadline (or at once with `force`). Commits."""
    now = now or utcnow()
    campaign = _lock_campaign(campaign_id)
    if campaign.status != CampaignStatus.LIVE or (campaign.deadline > now and not force):
        status = campaign.status
        rollback()
        return status
    pledged, _backers = campaign.totals()
    goal_met = pledged >= campaign.goal_amount
    pledges = list(db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign.id,
                                                           Pledge.status == PledgeStatus.ACTIVE)
                                      .order_by(Pledge.id)))
    campaign.closed_at = now
    if campaign.deadline > now:  # settled early on request (--campaign): the campaign ends now
        audit.record("campaign.closed_early", campaign, before={"deadline": campaign.deadline},
                     after={"deadline": now}, actor_id=None)
        campaign.deadline = now
    if campaign.funding_model == FundingModel.ALL_OR_NOTHING and not goal_met:
        campaign.status = CampaignStatus.FAILED
        audit.record("campaign.failed", campaign, before={"status": CampaignStatus.LIVE},
                     after={"status": CampaignStatus.FAILED, "pledged": pledged, "goal": campaign.goal_amount},
                     actor_id=None)
        for pledge in pledges:
            set_pledge_status(pledge, PledgeStatus.RELEASED, "pledge.released")
            ledger.append(campaign, LedgerKind.RELEASED, pledge.amount, f"pledge:{pledge.id}", pledge=pledge)
            _localised(pledge, lambda pledge=pledge: (
                _("%(title)s did not reach its goal", title=campaign.title),
                _("Hello %(name)s,\n\n%(title)s did not reach its goal of %(goal)s by the deadline. "
                  "Your pledge is released and your card will not be charged.\n%(link)s",
                  name=pledge.backer.name, title=campaign.title, goal=_money(campaign.goal_amount, campaign),
                  link=external_url("funding.campaign_detail", campaign_id=campaign.id))), kind="campaign.outcome")
        notices.campaign_ended(campaign, pledged, funded=False)
        campaign.settled_at = now
    else:
        campaign.status = CampaignStatus.SUCCESSFUL
        audit.record("campaign.successful", campaign, before={"status": CampaignStatus.LIVE},
                     after={"status": CampaignStatus.SUCCESSFUL, "pledged": pledged, "goal": campaign.goal_amount},
                     actor_id=None)
        for pledge in pledges:
            ledger.append(campaign, LedgerKind.PLEDGED, pledge.amount + pledge.shipping_fee, f"pledge:{pledge.id}",
                          pledge=pledge)
        notices.campaign_ended(campaign, pledged, funded=True)
    status = campaign.status
    commit()
    return status


def _money(amount: int, campaign: Campaign) -> str:
    from portal.money import format_money

    return format_money(amount, campaign.currency)


def _localised(pledge: Pledge, build: Callable[[], tuple[str, str]], kind: str = "pledge.payment") -> None:
    """Mail the backer in the backer's language (`kind`: the payment's outcome, unless said otherwise)."""
    send_to_user(pledge.backer, build, kind=kind)


# ---- charging one pledge ---------------------------------------------------------------------

def _claim(pledge_id: int, *, final: bool = False) -> tuple[int, dict] | None:
    with serial_on_sqlite():
        try:
            return _claim_unlocked(pledge_id, final=final)
        except BaseException:
            rollback()
            raise


def _claim_unlocked(pledge_id: int, *, final: bool = False) -> tuple[int, dict] | None:
    """Phase 1: write (or find) the pending attempt and commit it. None when there is nothing to charge."""
    pledge = lock_pledge(pledge_id)
    campaign = pledge.campaign
    chargeable = pledge.status == PledgeStatus.ACTIVE or (final and pledge.status in (
        PledgeStatus.ERRORED, PledgeStatus.NEEDS_AUTHENTICATION))
    if campaign.status != CampaignStatus.SUCCESSFUL or not chargeable:
        rollback()
        return None
    attempt = db.session.scalar(select(PaymentAttempt).where(PaymentAttempt.pledge_id == pledge.id,
                                                             PaymentAttempt.status == AttemptStatus.PENDING,
                                                             PaymentAttempt.charges_only()))
    if attempt is None:
        if not pledge.payment_method_ref:
            # No card was ever saved: nothing to send; treat like a decline so the backer is asked for one.
            number = next_attempt_number(pledge)
            attempt = PaymentAttempt(pledge_id=pledge.id, number=number,
                                     idempotency_key=f"pledge-{pledge.id}-attempt-{number}",
                                     amount=pledge.amount + pledge.shipping_fee, currency=campaign.currency,
                                     status=AttemptStatus.PENDING, payment_method_ref=None)
            db.session.add(attempt)
            db.session.flush()
            record_charge(attempt, pledge, ChargeResult(ChargeStatus.FAILED, error_code="no_payment_method",
                                                        error_message="No card was saved."), final=final)
            commit()
            return None
        number = next_attempt_number(pledge)
        attempt = PaymentAttempt(pledge_id=pledge.id, number=number,
                                 idempotency_key=f"pledge-{pledge.id}-attempt-{number}",
                                 amount=pledge.amount + pledge.shipping_fee, currency=campaign.currency,
                                 status=AttemptStatus.PENDING, payment_method_ref=pledge.payment_method_ref,
                                 customer_ref=pledge.customer_ref)
        db.session.add(attempt)
        db.session.flush()
        if final:
            pledge.final_retry_done = True
    call = {"amount": attempt.amount, "currency": attempt.currency, "customer_ref": attempt.customer_ref,
            "payment_method_ref": attempt.payment_method_ref, "idempotency_key": attempt.idempotency_key,
            "metadata": {"pledge_id": str(pledge.id), "attempt_id": str(attempt.id),
                         "campaign_id": str(campaign.id)}}
    attempt_id = attempt.id
    commit()
    return attempt_id, call


def charge_pledge(pledge_id: int, *, final: bool = False, limiter: Limiter | None = None) -> str:
    """Claim, call the provider, record. Returns the pledge's status afterwards ("pending" if unknown)."""
    claimed = _claim(pledge_id, final=final)
    if claimed is None:
        status = db.session.scalar(select(Pledge.status).where(Pledge.id == pledge_id)) or "missing"
        rollback()
        return status
    attempt_id, call = claimed
    # commit() ended the transaction and gave the connection back: nothing is held during the call.
    if limiter is not None:
        limiter.wait()
    try:
        result = get_provider().charge(**call, off_session=True)
    except ProviderUnavailable as error:
        log.warning("pledge %s: provider unavailable, attempt %s stays pending: %s", pledge_id, attempt_id, error)
        return "pending"
    if AFTER_PROVIDER_CALL is not None:
        AFTER_PROVIDER_CALL(pledge_id)
    return record_result(attempt_id, result)


def record_result(attempt_id: int, result: ChargeResult) -> str:
    """Phase 3 (also used by on-session authentication). Idempotent. Commits."""
    with serial_on_sqlite():
        try:
            return _record_result_unlocked(attempt_id, result)
        except BaseException:
            rollback()
            raise


def _record_result_unlocked(attempt_id: int, result: ChargeResult) -> str:
    pledge_id = db.session.scalar(select(PaymentAttempt.pledge_id).where(PaymentAttempt.id == attempt_id))
    pledge = lock_pledge(pledge_id)
    attempt = db.session.get(PaymentAttempt, attempt_id, populate_existing=True)
    record_charge(attempt, pledge, result, final=pledge.final_retry_done)
    status = pledge.status
    commit()
    return status


def record_charge(attempt: PaymentAttempt, pledge: Pledge, result: ChargeResult, *, final: bool) -> None:
    """Apply the provider's answer to a charge attempt and its (locked) pledge: ledger, status, mail.
    Idempotent: an attempt already recorded is left alone. Never commits."""
    if attempt.status not in (AttemptStatus.PENDING, AttemptStatus.REQUIRES_ACTION):
        return  # already recorded
    if result.status == ChargeStatus.PROCESSING:
        attempt.payment_ref = result.payment_ref or attempt.payment_ref
        return  # the webhook will tell
    now = utcnow()
    attempt.payment_ref = result.payment_ref or attempt.payment_ref
    attempt.finished_at = now
    campaign = pledge.campaign
    if result.status == ChargeStatus.SUCCEEDED:
        attempt.status = AttemptStatus.SUCCEEDED
        attempt.fee = result.fee
        if pledge.status == PledgeStatus.COLLECTED:
            return
        pledge.payment_ref = attempt.payment_ref
        pledge.collected_at = now
        set_pledge_status(pledge, PledgeStatus.COLLECTED, "pledge.collected", attempt=attempt.number,
                          payment_ref=attempt.payment_ref)
        ledger.record_collected(pledge, attempt.id, attempt.amount, result.fee)
        _localised(pledge, lambda: (
            _("Your pledge to %(title)s was collected", title=campaign.title),
            _("Hello %(name)s,\n\n%(amount)s was charged to %(card)s for %(title)s. Thank you for backing it.\n"
              "Answer the backer survey (shipping address, options) here:\n%(link)s",
              name=pledge.backer.name, amount=_money(attempt.amount, campaign), card=card_text(pledge.card_label),
              title=campaign.title, link=external_url("funding.pledge_detail", pledge_id=pledge.id))))
        return
    attempt.error_code = (result.error_code or "")[:80]
    attempt.error_message = (result.error_message or "")[:500]
    if result.status == ChargeStatus.REQUIRES_ACTION:
        attempt.status = AttemptStatus.REQUIRES_ACTION
        new_status, action = PledgeStatus.NEEDS_AUTHENTICATION, "pledge.needs_authentication"
    else:
        attempt.status = AttemptStatus.FAILED
        new_status, action = PledgeStatus.ERRORED, "pledge.errored"
    if final:
        drop(pledge, reason=attempt.error_code or "final retry failed")
        return
    if pledge.errored_at is None:
        pledge.errored_at = now
    set_pledge_status(pledge, new_status, action, attempt=attempt.number, error=attempt.error_code)
    _remind(pledge, now)


def _remind(pledge: Pledge, now: datetime) -> None:
    campaign = pledge.campaign
    pledge.last_reminder_at = now
    pledge.reminders_sent += 1
    if pledge.status == PledgeStatus.NEEDS_AUTHENTICATION:
        _localised(pledge, lambda: (
            _("Confirm your pledge to %(title)s", title=campaign.title),
            _("Hello %(name)s,\n\nYour bank asks you to confirm the payment of %(amount)s for %(title)s "
              "(3-D Secure). Open this link to finish it:\n%(link)s\n\nWithout it the pledge is dropped on "
              "%(date)s.", name=pledge.backer.name, amount=_money(pledge.amount + pledge.shipping_fee, campaign),
              title=campaign.title, link=external_url("funding.pledge_authenticate", pledge_id=pledge.id),
              date=(pledge.errored_at + GRACE_PERIOD).date().isoformat())))
    else:
        _localised(pledge, lambda: (
            _("Your payment for %(title)s did not go through", title=campaign.title),
            _("Hello %(name)s,\n\nWe could not charge %(card)s for %(title)s. Update your card here and we will "
              "try again:\n%(link)s\n\nWithout a working card the pledge is dropped on %(date)s.",
              name=pledge.backer.name, card=card_text(pledge.card_label) or _("your card"), title=campaign.title,
              link=external_url("funding.pledge_detail", pledge_id=pledge.id),
              date=(pledge.errored_at + GRACE_PERIOD).date().isoformat())))
    db.session.flush()


def drop(pledge: Pledge, reason: str) -> None:
    campaign = pledge.campaign
    set_pledge_status(pledge, PledgeStatus.DROPPED, "pledge.dropped", reason=reason)
    ledger.append(campaign, LedgerKind.DROPPED, pledge.amount + pledge.shipping_fee, f"pledge:{pledge.id}",
                  pledge=pledge, memo=reason[:200])
    _localised(pledge, lambda: (
        _("Your pledge to %(title)s was dropped", title=campaign.title),
        _("Hello %(name)s,\n\nWe could not collect your pledge to %(title)s within 7 days, so it was dropped. "
          "You were not charged.", name=pledge.backer.name, title=campaign.title)))


# ---- errored and unauthenticated pledges -----------------------------------------------------

def follow_up(pledge_id: int, now: datetime, limiter: Limiter | None = None) -> str:
    """Every 48 h a reminder; after 7 days one final off-session retry, then dropped."""
    with serial_on_sqlite():
        try:
            outcome = _follow_up_unlocked(pledge_id, now)
        except BaseException:
            rollback()
            raise
    if outcome == "final_retry":
        return charge_pledge(pledge_id, final=True, limiter=limiter)
    return outcome


def _follow_up_unlocked(pledge_id: int, now: datetime) -> str:
    pledge = lock_pledge(pledge_id)
    if pledge.status not in (PledgeStatus.ERRORED, PledgeStatus.NEEDS_AUTHENTICATION) or pledge.errored_at is None:
        status = pledge.status
        rollback()
        return status
    if now >= pledge.errored_at + GRACE_PERIOD:
        if pledge.final_retry_done:
            drop(pledge, "final retry failed")
            commit()
            return PledgeStatus.DROPPED
        rollback()
        return "final_retry"
    if pledge.last_reminder_at is None or now >= pledge.last_reminder_at + REMINDER_EVERY:
        _remind(pledge, now)
        commit()
        return "reminded"
    rollback()
    return pledge.status


def retry_now(pledge_id: int) -> str:
    """The backer saved a new card: charge again at once (a new attempt with a new key)."""
    pledge = lock_pledge(pledge_id)
    if pledge.status not in (PledgeStatus.ERRORED, PledgeStatus.NEEDS_AUTHENTICATION):
        status = pledge.status
        rollback()
        return status
    pending = db.session.scalar(select(PaymentAttempt.id).where(PaymentAttempt.pledge_id == pledge.id,
                                                                PaymentAttempt.status == AttemptStatus.PENDING,
                                                                PaymentAttempt.charges_only()))
    if pending is not None:
        rollback()
        return "pending"
    before = pledge.status
    pledge.status = PledgeStatus.ACTIVE  # chargeable again; the claim below takes it
    db.session.flush()
    audit.record("pledge.retry", pledge, before={"status": before}, after={"status": PledgeStatus.ACTIVE})
    commit()
    return charge_pledge(pledge_id)


def complete_authentication(pledge_id: int) -> str:
    """The backer came back on-session and finished 3-D Secure for the SAME PaymentIntent."""
    attempt = db.session.scalar(select(PaymentAttempt).where(
        PaymentAttempt.pledge_id == pledge_id, PaymentAttempt.status == AttemptStatus.REQUIRES_ACTION)
        .order_by(PaymentAttempt.number.desc()))
    if attempt is None or not attempt.payment_ref:
        return db.session.scalar(select(Pledge.status).where(Pledge.id == pledge_id)) or "missing"
    attempt_id, payment_ref = attempt.id, attempt.payment_ref
    rollback()  # read-only so far: end the transaction before calling the provider
    try:
        result = get_provider().complete_authentication(payment_ref)
    except ProviderUnavailable:
        return "pending"
    if result.status == ChargeStatus.REQUIRES_ACTION:
        return PledgeStatus.NEEDS_AUTHENTICATION
    return record_result(attempt_id, result)


# ---- the whole run ---------------------------------------------------------------------------

def finish_if_settled(campaign_id: int) -> bool:
    """No pledge outstanding: write matchfunding and the payout due, mark settled. Commits."""
    campaign = _lock_campaign(campaign_id)
    if campaign.status != CampaignStatus.SUCCESSFUL or campaign.settled_at is not None:
        rollback()
        return campaign.settled_at is not None
    outstanding = db.session.scalar(select(func.count()).select_from(Pledge).where(
        Pledge.campaign_id == campaign.id, Pledge.status.in_(OUTSTANDING_PLEDGE_STATUSES)))
    pending = db.session.scalar(select(func.count()).select_from(PaymentAttempt).join(Pledge).where(
        Pledge.campaign_id == campaign.id, PaymentAttempt.status == AttemptStatus.PENDING))
    if outstanding or pending:
        rollback()
        return False
    ledger.record_matchfunding(campaign)
    figures = ledger.totals(campaign)
    ledger.append(campaign, LedgerKind.PAYOUT_DUE, figures["net"], "settlement", memo="net owed to the creator")
    campaign.settled_at = utcnow()
    audit.record("campaign.settled", campaign, after={k: figures[k] for k in ("collected", "fees", "net")} | {
        "currency": campaign.currency}, actor_id=None)
    commit()
    return True


def campaigns_to_settle(now: datetime, campaign_id: int | None = None) -> list[int]:
    if campaign_id is not None:
        return [campaign_id]
    stmt = select(Campaign.id).where(
        ((Campaign.status == CampaignStatus.LIVE) & (Campaign.deadline <= now))
        | ((Campaign.status == CampaignStatus.SUCCESSFUL) & Campaign.settled_at.is_(None))).order_by(Campaign.id)
    return list(db.session.scalars(stmt))


def settle(campaign_id: int | None = None, *, now: datetime | None = None, concurrency: int = 1,
           rate: float | None = None, progress: Callable[[int, int, str], None] | None = None) -> SettleReport:
    """Settle every campaign past its deadline, or the given one at once. Safe to rerun at any time."""
    from funding import refunds

    now = now or utcnow()
    report = SettleReport()
    limiter = rate_limiter(rate)
    # Refunds a crash left half-done (older than any request still sending one) go out with their own key.
    refunds.resolve_pending(started_before=now - REFUND_IN_FLIGHT)
    for cid in campaigns_to_settle(now, campaign_id):
        status = close_campaign(cid, force=campaign_id is not None, now=now)
        report.campaigns[cid] = status
        if status != CampaignStatus.SUCCESSFUL:
            continue
        # Pending attempts first (a previous run crashed mid-call), then every active pledge, then follow-ups.
        to_charge = list(db.session.scalars(
            select(Pledge.id).where(Pledge.campaign_id == cid, Pledge.status == PledgeStatus.ACTIVE)
            .order_by(Pledge.id)))
        stuck = list(db.session.scalars(
            select(PaymentAttempt.pledge_id).join(Pledge).where(
                Pledge.campaign_id == cid, PaymentAttempt.status == AttemptStatus.PENDING,
                Pledge.status.in_((PledgeStatus.ERRORED, PledgeStatus.NEEDS_AUTHENTICATION)))))
        followers = list(db.session.scalars(
            select(Pledge.id).where(Pledge.campaign_id == cid, Pledge.status.in_(
                (PledgeStatus.ERRORED, PledgeStatus.NEEDS_AUTHENTICATION))).order_by(Pledge.id)))
        rollback()
        stuck_set = set(stuck)
        jobs = [(p, "charge") for p in to_charge] + [
            (p, "final" if p in stuck_set else "follow") for p in followers]
        _run_jobs(jobs, now, limiter, concurrency, report, progress)
        finish_if_settled(cid)
    return report


def _step(pledge_id: int, kind: str, now: datetime, limiter: Limiter) -> str:
    if kind == "charge":
        return charge_pledge(pledge_id, limiter=limiter)
    if kind == "final":  # a final retry crashed mid-call: resolve its pending attempt with the same key
        return charge_pledge(pledge_id, final=True, limiter=limiter)
    return follow_up(pledge_id, now, limiter=limiter)


def _run_jobs(jobs: list[tuple[int, str]], now: datetime, limiter: Limiter, concurrency: int,
              report: SettleReport, progress: Callable[[int, int, str], None] | None) -> None:
    total = len(jobs)
    if concurrency <= 1:
        outcomes = (_step(pledge_id, kind, now, limiter) for pledge_id, kind in jobs)
        for done, outcome in enumerate(outcomes, start=1):
            report.add(outcome)
            if progress:
                progress(done, total, outcome)
        return
    app = current_app._get_current_object()

    def run(job: tuple[int, str]) -> str:
        with app.app_context():  # each thread its own session and connection
            try:
                return _step(job[0], job[1], now, limiter)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for done, outcome in enumerate(pool.map(run, jobs), start=1):
            report.add(outcome)
            if progress:
                progress(done, total, outcome)


def settle_due() -> None:
    """Periodic job: settle campaigns whose deadline passed and follow up errored pledges."""
    settle()
