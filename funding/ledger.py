"""The per-campaign money ledger: append-only entries, public totals, CSV exports.

Entries are signed minor units in the campaign's currency (inflows positive, fees, refunds and
disputes negative). Informational kinds (pledged, dropped, released, payout_due) do not add up to
the net. Each entry names its cause in `reference`, unique per campaign and kind: writing the same
entry twice (a settlement rerun, a replayed webhook) is a no-op.
"""

from __future__ import annotations

import csv
import io

from flask import current_app
from sqlalchemy import func, select

from funding.models import (
    MONEY_LEDGER_KINDS,
    Campaign,
    LedgerEntry,
    LedgerKind,
    MatchFund,
    Pledge,
    PledgeStatus,
)
from portal import audit
from portal.db import utcnow
from portal.exports import csv_safe
from portal.extensions import db


def append(campaign: Campaign, kind: str, amount: int, reference: str, *, pledge: Pledge | None = None,
           memo: str = "") -> LedgerEntry | None:
    """Write one entry unless an entry with this kind and reference exists already (then None)."""
    exists = db.session.scalar(select(LedgerEntry.id).where(
        LedgerEntry.campaign_id == campaign.id, LedgerEntry.kind == kind, LedgerEntry.reference == reference))
    if exists is not None:
        return None
    entry = LedgerEntry(campaign_id=campaign.id, pledge_id=pledge.id if pledge else None, kind=kind, amount=amount,
                        currency=campaign.currency, reference=reference, memo=memo[:255], created_at=utcnow())
    db.session.add(entry)
    db.session.flush()
    return entry


def platform_fee(amount: int) -> int:
    """PLATFORM_FEE_PERCENT of `amount`, rounded half up, integer arithmetic."""
    percent = int(current_app.config.get("PLATFORM_FEE_PERCENT", 5))
    return (amount * percent + 50) // 100


def record_collected(pledge: Pledge, attempt_id: int, charged: int, provider_fee: int | None) -> None:
    campaign = pledge.campaign
    reference = f"attempt:{attempt_id}"
    append(campaign, LedgerKind.COLLECTED, charged, reference, pledge=pledge, memo=f"pledge {pledge.id}")
    if provider_fee:
        append(campaign, LedgerKind.STRIPE_FEE, -provider_fee, reference, pledge=pledge, memo="processing fee")
    fee = platform_fee(charged)
    if fee:
        append(campaign, LedgerKind.PLATFORM_FEE, -fee, reference, pledge=pledge, memo="platform fee")


def record_refund(pledge: Pledge, refund_ref: str, amount: int) -> bool:
    """A refund (from the portal or the Stripe dashboard) -> ledger entry and pledge state. Idempotent."""
    from funding.services import set_pledge_status

    entry = append(pledge.campaign, LedgerKind.REFUND, -amount, f"refund:{refund_ref}", pledge=pledge,
                   memo=f"pledge {pledge.id}")
    if entry is None:
        return False
    pledge.refunded_amount += amount
    if pledge.refunded_amount >= pledge.amount + pledge.shipping_fee:
        set_pledge_status(pledge, PledgeStatus.REFUNDED, "pledge.refunded", refunded=pledge.refunded_amount)
    else:
        db.session.flush()
        audit.record("pledge.partially_refunded", pledge, after={"refunded": pledge.refunded_amount,
                                                                 "currency": pledge.campaign.currency})
    return True


def catch_up_refunds(pledge: Pledge, reference: str, refunded_at_least: int) -> int:
    """Raise the pledge's refunded total to `refunded_at_least` (a total the provider confirmed), writing
    only the difference. Portal refunds and `charge.refunded` webhooks both report totals this way, so
    the same refund seen twice, in any order, is counted once. Returns the amount written."""
    delta = min(refunded_at_least, pledge.amount + pledge.shipping_fee) - pledge.refunded_amount
    if delta <= 0:
        return 0
    return delta if record_refund(pledge, reference, delta) else 0


def entries(campaign: Campaign) -> list[LedgerEntry]:
    return list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.campaign_id == campaign.id)
                                   .order_by(LedgerEntry.id)))


def totals(campaign: Campaign) -> dict[str, int]:
    """Public figures: pledged (gross at the deadline), collected, dropped, refunded, fees, disputes, net."""
    rows = dict(db.session.execute(
        select(LedgerEntry.kind, func.sum(LedgerEntry.amount)).where(LedgerEntry.campaign_id == campaign.id)
        .group_by(LedgerEntry.kind)).all())
    value = {kind: int(rows.get(kind) or 0) for kind in LedgerKind.values()}
    fees = -(value[LedgerKind.STRIPE_FEE] + value[LedgerKind.PLATFORM_FEE])
    net = sum(value[kind] for kind in MONEY_LEDGER_KINDS)
    return {
        "pledged": value[LedgerKind.PLEDGED],
        "collected": value[LedgerKind.COLLECTED],
        "dropped": value[LedgerKind.DROPPED],
        "released": value[LedgerKind.RELEASED],
        "refunded": -value[LedgerKind.REFUND],
        "disputed": -value[LedgerKind.DISPUTE],
        "stripe_fees": -value[LedgerKind.STRIPE_FEE],
        "platform_fees": -value[LedgerKind.PLATFORM_FEE],
        "fees": fees,
        "matchfunding": value[LedgerKind.MATCHFUNDING],
        "net": net,
        "payout_due": value[LedgerKind.PAYOUT_DUE],
    }


def matchable_collected(campaign: Campaign, fund: MatchFund) -> int:
    """Collected money a fund may match: only pledges from backers outside the project's organisation and
    outside the matchfunder's (members at settlement), so nobody's own money is doubled."""
    from portal.organisations.models import Membership

    insiders = select(Membership.user_id).where(
        Membership.organisation_id.in_([fund.organisation_id, campaign.project.organisation_id]))
    amount = db.session.scalar(
        select(func.sum(LedgerEntry.amount)).join(Pledge, Pledge.id == LedgerEntry.pledge_id)
        .where(LedgerEntry.campaign_id == campaign.id, LedgerEntry.kind == LedgerKind.COLLECTED,
               Pledge.backer_id.not_in(insiders)))
    return int(amount or 0)


def record_matchfunding(campaign: Campaign) -> None:
    """Each anchor company matches the collected pledges 1:1 up to its cap (written once per fund), counting
    only pledges from outside the project's organisation and its own (`matchable_collected`). Funds match in
    the order they were promised and never match the same money twice."""
    matched_so_far = 0
    for fund in db.session.scalars(select(MatchFund).where(MatchFund.campaign_id == campaign.id)
                                   .order_by(MatchFund.id)):
        matched = min(fund.cap, matchable_collected(campaign, fund) - matched_so_far)
        if matched > 0:
            append(campaign, LedgerKind.MATCHFUNDING, matched, f"match_fund:{fund.id}",
                   memo=f"organisation {fund.organisation_id}")
            matched_so_far += matched


def chart_config(campaign: Campaign, figures: dict[str, int], labels: dict[str, str]) -> dict:
    """Chart.js bar chart of where the money went (major units for readability; the table has exact values)."""
    from babel.numbers import get_currency_precision

    scale = 10 ** get_currency_precision(campaign.currency)
    keys = ["pledged", "collected", "dropped", "refunded", "fees", "net"]
    return {
        "type": "bar",
        "data": {"labels": [labels[k] for k in keys],
                 "datasets": [{"label": campaign.currency,
                               "data": [figures[k] / scale for k in keys],
                               "backgroundColor": ["#6c757d", "#198754", "#ffc107", "#fd7e14", "#dc3545",
                                                   "#0d6efd"]}]},
        "options": {"plugins": {"legend": {"display": False}}},
    }


def ledger_csv(campaign: Campaign) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "created_at", "kind", "amount_minor", "currency", "pledge_id", "reference", "memo"])
    for entry in entries(campaign):
        writer.writerow([entry.id, entry.created_at.isoformat(), entry.kind, entry.amount, entry.currency,
                         entry.pledge_id or "", entry.reference, csv_safe(entry.memo)])
    return out.getvalue()


def backers_csv(campaign: Campaign) -> str:
    from funding.community import SURVEY_FIELDS

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["pledge_id", "backer", "email", "status", "reward", "amount_minor", "shipping_fee_minor",
                     "refunded_minor", "currency", "pledged_at", *[f"survey_{f}" for f in SURVEY_FIELDS],
                     "survey_variant"])
    for pledge in db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign.id).order_by(Pledge.id)):
        answers = pledge.survey_answers or {}
        writer.writerow([pledge.id, csv_safe(pledge.backer.name), pledge.backer.email, pledge.status,
                         csv_safe(pledge.reward.title) if pledge.reward else "", pledge.amount, pledge.shipping_fee,
                         pledge.refunded_amount, campaign.currency, pledge.created_at.isoformat(),
                         *[csv_safe(answers.get(f, "")) for f in SURVEY_FIELDS], csv_safe(answers.get("variant", ""))])
    return out.getvalue()
