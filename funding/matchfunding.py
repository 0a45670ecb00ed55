"""Matchfunding: an anchor company promises to match a campaign's pledges 1:1 up to a cap, paid when the
campaign succeeds (settlement writes the match). Flushes, never commits."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from funding.models import Campaign, CampaignStatus, MatchFund
from funding.schemas import NewMatchFund
from portal import audit
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.organisations.services import require_verified

__all__ = ["add_match_fund", "match_funds"]


def add_match_fund(campaign: Campaign, organisation: Organisation, cmd: NewMatchFund) -> MatchFund:
    """`organisation` is the company of `cmd.organisation_id`, loaded by the caller with its permission."""
    if organisation.kind != "company":
        raise ValidationFailed.field("organisation_id", _("Only anchor companies match pledges."))
    require_verified(organisation)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SUBMITTED, CampaignStatus.LIVE):
        raise Conflict(_("Matchfunding is set before the campaign ends."))
    fund = MatchFund(campaign_id=campaign.id, organisation_id=organisation.id, cap=cmd.cap)
    db.session.add(fund)
    db.session.flush()
    audit.record("campaign.match_fund_added", campaign, after={"organisation_id": organisation.id, "cap": cmd.cap,
                                                               "currency": campaign.currency})
    return fund


def match_funds(campaign: Campaign) -> list[MatchFund]:
    return list(db.session.scalars(select(MatchFund).where(MatchFund.campaign_id == campaign.id)))
