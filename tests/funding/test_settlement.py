"""Settlement: outcomes per test card, goal missed, 3-D Secure on-session, the errored schedule, the CLI."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from funding import ledger, settlement
from funding.models import (
    AttemptStatus,
    CampaignStatus,
    FundingModel,
    PaymentAttempt,
    Pledge,
    PledgeStatus,
)
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from tests.conftest import link_in
from tests.funding.factories import CampaignFactory, PledgeFactory

VISA, DECLINED, THREE_DS = "pm_sandbox_visa", "pm_sandbox_charge_declined", "pm_sandbox_authentication_required"


def ended_campaign(**kwargs):
    kwargs.setdefault("goal_amount", 1000_00)
    return CampaignFactory(deadline=utcnow() - timedelta(minutes=5), **kwargs)


def reload(pledge: Pledge) -> Pledge:
    db.session.expire_all()
    return db.session.get(Pledge, pledge.id)


def test_successful_campaign_charges_each_card_once(db_session, provider, mail_outbox, app):
    campaign = ended_campaign()
    ok = PledgeFactory(campaign=campaign, amount=600_00, payment_method_ref=VISA, shipping_fee=20_00)
    declined = PledgeFactory(campaign=campaign, amount=300_00, payment_method_ref=DECLINED)
    auth = PledgeFactory(campaign=campaign, amount=200_00, payment_method_ref=THREE_DS)
    cancelled = PledgeFactory(campaign=campaign, amount=900_00, status=PledgeStatus.CANCELLED)

    report = settlement.settle()
    assert report.campaigns[campaign.id] == CampaignStatus.SUCCESSFUL
    assert reload(ok).status == PledgeStatus.COLLECTED
    assert reload(declined).status == PledgeStatus.ERRORED
    assert reload(auth).status == PledgeStatus.NEEDS_AUTHENTICATION
    assert reload(cancelled).status == PledgeStatus.CANCELLED
    assert len(provider.payment_intents) == 3
    charged = {pi.metadata["pledge_id"]: pi.amount for pi in provider.payment_intents.values()}
    assert charged[str(ok.id)] == 620_00  # pledge plus shipping

    to = {m["To"]: m for m in mail_outbox}
    assert "did not go through" in to[declined.backer.email]["Subject"]
    auth_link = link_in(to[auth.backer.email], f"/pledges/{auth.id}/authenticate")
    assert "collected" in to[ok.backer.email]["Subject"]

    figures = ledger.totals(campaign)
    assert figures["pledged"] == 620_00 + 300_00 + 200_00
    assert figures["collected"] == 620_00
    assert figures["platform_fees"] == 31_00  # 5% of 620.00
    assert figures["stripe_fees"] == (620_00 * 29 + 500) // 1000 + 30
    assert figures["net"] == 620_00 - figures["fees"]
    assert db.session.get(type(campaign), campaign.id).settled_at is None  # two pledges still outstanding

    # A rerun charges nobody again.
    settlement.settle()
    assert len(provider.payment_intents) == 3 and provider.calls == 3
    assert auth_link


def test_three_d_secure_is_finished_on_session_without_a_second_charge(client, login, provider, mail_outbox):
    campaign = ended_campaign()
    pledge = PledgeFactory(campaign=campaign, amount=1500_00, payment_method_ref=THREE_DS)
    settlement.settle()
    assert reload(pledge).status == PledgeStatus.NEEDS_AUTHENTICATION
    login(pledge.backer)
    path = link_in(mail_outbox[-1], f"/pledges/{pledge.id}/authenticate")
    page = client.get(path)
    assert page.status_code == 200 and "Confirm payment" in page.get_data(as_text=True)
    confirmed = client.post(path)
    assert confirmed.status_code == 302
    pledge = reload(pledge)
    assert pledge.status == PledgeStatus.COLLECTED
    assert len(provider.payment_intents) == 1  # the same PaymentIntent, confirmed on-session
    assert [a.status for a in pledge.attempts] == [AttemptStatus.SUCCEEDED]
    assert ledger.totals(campaign)["collected"] == 1500_00
    assert db.session.get(type(campaign), campaign.id).settled_at is not None or settlement.finish_if_settled(
        campaign.id)


def test_goal_missed_releases_pledges_and_charges_nothing(db_session, provider, mail_outbox):
    campaign = ended_campaign(goal_amount=10000_00)
    pledges = [PledgeFactory(campaign=campaign, amount=100_00) for _ in range(3)]
    settlement.settle()
    assert db.session.get(type(campaign), campaign.id).status == CampaignStatus.FAILED
    assert {reload(p).status for p in pledges} == {PledgeStatus.RELEASED}
    assert provider.calls == 0
    assert sorted(m["To"] for m in mail_outbox) == sorted(p.backer.email for p in pledges)
    assert "will not be charged" in mail_outbox[0].get_content()
    figures = ledger.totals(campaign)
    assert figures["collected"] == 0 and figures["released"] == 300_00 and figures["net"] == 0


def test_keep_it_all_collects_below_the_goal(db_session, provider):
    campaign = ended_campaign(goal_amount=10000_00, funding_model=FundingModel.KEEP_IT_ALL)
    pledge = PledgeFactory(campaign=campaign, amount=100_00)
    settlement.settle()
    assert reload(pledge).status == PledgeStatus.COLLECTED
    assert db.session.get(type(campaign), campaign.id).settled_at is not None
    assert ledger.totals(campaign)["payout_due"] == ledger.totals(campaign)["net"] > 0


def test_live_campaigns_before_the_deadline_are_left_alone(db_session, provider):
    campaign = CampaignFactory()
    PledgeFactory(campaign=campaign)
    report = settlement.settle()
    assert campaign.id not in report.campaigns and provider.calls == 0


def test_errored_pledge_is_reminded_every_48_hours_then_retried_once_then_dropped(db_session, provider,
                                                                                   mail_outbox):
    campaign = ended_campaign()
    PledgeFactory(campaign=campaign, amount=1000_00)  # reaches the goal
    pledge = PledgeFactory(campaign=campaign, amount=100_00, payment_method_ref=DECLINED)
    start = utcnow()
    settlement.settle(now=start)
    assert reload(pledge).status == PledgeStatus.ERRORED
    mails = lambda: [m for m in mail_outbox if m["To"] == pledge.backer.email]  # noqa: E731
    assert len(mails()) == 1

    settlement.settle(now=start + timedelta(hours=47))
    assert len(mails()) == 1
    for hours, expected in ((48, 2), (96, 3), (144, 4)):
        settlement.settle(now=start + timedelta(hours=hours, minutes=1))
        assert len(mails()) == expected, hours
    assert provider.calls == 2  # the two first charges only, no retry yet

    settlement.settle(now=start + timedelta(days=7, minutes=1))  # the one final retry, declined again
    pledge = reload(pledge)
    assert pledge.status == PledgeStatus.DROPPED and pledge.final_retry_done
    assert provider.calls == 3 and len(pledge.attempts) == 2
    assert "dropped" in mails()[-1]["Subject"]
    settlement.settle(now=start + timedelta(days=9))
    assert provider.calls == 3
    figures = ledger.totals(campaign)
    assert figures["dropped"] == 100_00 and figures["collected"] == 1000_00
    assert db.session.get(type(campaign), campaign.id).settled_at is not None


def test_new_card_on_an_errored_pledge_is_charged_at_once(client, bearer, provider):
    campaign = ended_campaign()
    pledge = PledgeFactory(campaign=campaign, amount=1000_00, payment_method_ref=DECLINED)
    settlement.settle()
    assert reload(pledge).status == PledgeStatus.ERRORED
    response = client.post(f"/api/v1/pledges/{pledge.id}/payment-method", headers=bearer(pledge.backer),
                           json={"payment_method": "4242424242424242"})
    assert response.status_code == 200
    pledge = reload(pledge)
    assert pledge.status == PledgeStatus.COLLECTED and len(pledge.attempts) == 2
    assert len({a.idempotency_key for a in pledge.attempts}) == 2
    assert ledger.totals(campaign)["collected"] == 1000_00


def test_pending_attempt_is_resent_with_the_same_key(db_session, provider):
    """The provider was unreachable (outcome unknown): the next run re-sends the same idempotency key."""
    from funding.payments import ProviderUnavailable

    campaign = ended_campaign()
    pledge = PledgeFactory(campaign=campaign, amount=1000_00)
    original = provider.charge

    def unreachable(**kwargs):
        original(**kwargs)  # the charge went through, but the answer was lost
        raise ProviderUnavailable("timeout")

    provider.charge = unreachable
    assert settlement.settle().outcomes["pending"] == 1
    attempt = db.session.scalar(select(PaymentAttempt).where(PaymentAttempt.pledge_id == pledge.id))
    assert attempt.status == AttemptStatus.PENDING
    provider.charge = original
    settlement.settle()
    assert reload(pledge).status == PledgeStatus.COLLECTED
    assert len(provider.payment_intents) == 1 and provider.calls == 2
    assert len(reload(pledge).attempts) == 1


def test_cli_settles_one_campaign_at_once_with_progress(runner, db_session, provider, factories):
    campaign = CampaignFactory(goal_amount=100_00)  # deadline in the future: --campaign settles it now
    for _ in range(3):
        PledgeFactory(campaign=campaign, amount=100_00, backer=factories.UserFactory(roles=[Role.BACKER]))
    result = runner.invoke(args=["funding", "settle", "--campaign", str(campaign.id)])
    assert result.exit_code == 0, result.output
    assert "SANDBOX" in result.output and f"campaign {campaign.id}: successful" in result.output
    assert "collected: 3" in result.output
    assert len(provider.payment_intents) == 3
    again = runner.invoke(args=["funding", "settle"])
    assert again.exit_code == 0 and len(provider.payment_intents) == 3
