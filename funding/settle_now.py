"""An admin's "Settle now": a background job settling one campaign at once, its state read back from the
audit log (queued or running, or how the last run ended). The settling itself is `funding.settlement`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from funding import settlement
from funding.models import Campaign
from portal import audit
from portal.db import commit, rollback, utcnow
from portal.extensions import db

SETTLEMENT_REQUESTED = "campaign.settlement_requested"
SETTLEMENT_FINISHED = "campaign.settlement_finished"
SETTLEMENT_FAILED = "campaign.settlement_failed"
# A requested run with no answer after this long is taken as lost (a worker died) and may be started again.
SETTLEMENT_RUN_TIMEOUT = timedelta(hours=1)


@dataclass
class SettlementState:
    running: bool
    requested_at: datetime | None = None
    finished_at: datetime | None = None
    failed: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)


def settlement_state(campaign: Campaign, now: datetime | None = None) -> SettlementState:
    """Whether an admin's "Settle now" is queued or running, or how the last one ended."""
    from portal.audit import AuditEvent

    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "Campaign", AuditEvent.object_id == str(campaign.id),
        AuditEvent.action.in_((SETTLEMENT_REQUESTED, SETTLEMENT_FINISHED, SETTLEMENT_FAILED)))
        .order_by(AuditEvent.id.desc()).limit(2)).all()
    if not events:
        return SettlementState(running=False)
    latest = events[0]
    if latest.action == SETTLEMENT_REQUESTED:
        running = latest.created_at > (now or utcnow()) - SETTLEMENT_RUN_TIMEOUT
        return SettlementState(running=running, requested_at=latest.created_at)
    requested = events[1].created_at if len(events) > 1 and events[1].action == SETTLEMENT_REQUESTED else None
    return SettlementState(running=False, requested_at=requested, finished_at=latest.created_at,
                           failed=latest.action == SETTLEMENT_FAILED,
                           outcomes=dict((latest.after or {}).get("outcomes") or {}))


def request_settlement(campaign: Campaign) -> bool:
    """Queue a settlement run of this campaign after the request commits. False if one is running already.
    Flushes; the request commits (then the job runs on the worker, or inline without Redis)."""
    from portal.jobs import enqueue

    if settlement_state(campaign).running:
        return False
    audit.record(SETTLEMENT_REQUESTED, campaign, after={"status": campaign.status})
    enqueue("funding.tasks.settle_campaign", campaign.id)
    return True


def run_requested_settlement(campaign_id: int) -> settlement.SettleReport:
    """The job behind "Settle now": settle the campaign at once, then note how it ended. Commits."""
    try:
        report = settlement.settle(campaign_id)
    except Exception as error:
        rollback()
        audit.record(SETTLEMENT_FAILED, db.session.get(Campaign, campaign_id), after={"error": str(error)[:200]},
                     actor_id=None)
        commit()
        raise
    audit.record(SETTLEMENT_FINISHED, db.session.get(Campaign, campaign_id),
                 after={"status": report.campaigns.get(campaign_id), "outcomes": dict(report.outcomes)},
                 actor_id=None)
    commit()
    return report
