"""Pledge pages that do not trap (issue 12, point 7): a second pledge offers to change the first, and the
sandbox's 3-D Secure card shows an authentication step, at the pledge and at the deadline. English and
zh-CN, never a raw status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from funding import settlement
from funding.models import Pledge, PledgeStatus
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from tests.funding.factories import CampaignFactory, PledgeFactory, RewardFactory

THREE_DS_CARD = "4000002500003155"
RAW = ("needs_authentication", "requires_action", "pm_sandbox", "active<", ">active")


def _pledges(campaign, backer) -> list[Pledge]:
    db.session.expire_all()
    return list(db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign.id,
                                                        Pledge.backer_id == backer.id)))


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_a_second_pledge_offers_to_change_the_first(client, login, provider, factories, locale):
    backer = login(factories.UserFactory(roles=[Role.BACKER], locale=locale))
    campaign = CampaignFactory()
    small = RewardFactory(campaign=campaign, title="Sticker", amount=50_00)
    big = RewardFactory(campaign=campaign, title="Kit", amount=500_00)
    first = PledgeFactory(campaign=campaign, backer=backer, reward=small, amount=50_00)
    page = client.get(f"/campaigns/{campaign.id}/pledge").get_data(as_text=True)
    assert 'id="existing-pledge"' in page
    assert f"/pledges/{first.id}#change" in page
    if locale == "en":
        assert "Change that pledge" in page
    # The change form on the pledge page: filled with the pledge, in major units.
    detail = client.get(f"/pledges/{first.id}").get_data(as_text=True)
    assert 'id="change"' in detail and 'value="50.00"' in detail
    # A refusal keeps the typed values and names the field.
    refused = client.post(f"/pledges/{first.id}", data={
        "action": "change", "change-reward_id": str(big.id), "change-amount": "120.00"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'value="120.00"' in text
    assert db.session.get(Pledge, first.id).amount == 50_00
    changed = client.post(f"/pledges/{first.id}", data={
        "action": "change", "change-reward_id": str(big.id), "change-amount": "520.00"})
    assert changed.status_code == 302
    pledges = _pledges(campaign, backer)
    assert len(pledges) == 1 and pledges[0].amount == 520_00 and pledges[0].reward_id == big.id
    assert not any(raw in client.get(f"/pledges/{first.id}").get_data(as_text=True) for raw in RAW)


def test_no_offer_without_an_active_pledge(client, login, provider, factories):
    backer = login(factories.UserFactory(roles=[Role.BACKER]))
    campaign = CampaignFactory()
    PledgeFactory(campaign=campaign, backer=backer, status=PledgeStatus.CANCELLED)
    assert 'id="existing-pledge"' not in client.get(f"/campaigns/{campaign.id}/pledge").get_data(as_text=True)


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_three_d_secure_card_shows_an_authentication_step_when_pledging(client, login, provider, factories,
                                                                             locale):
    backer = login(factories.UserFactory(roles=[Role.BACKER], locale=locale))
    campaign = CampaignFactory()
    body = {"amount": "250.00", "payment_method": THREE_DS_CARD}
    step = client.post(f"/campaigns/{campaign.id}/pledge", data=body)
    page = step.get_data(as_text=True)
    assert step.status_code == 200 and 'data-testid="sandbox-3ds"' in page
    assert 'value="confirm"' in page and 'value="fail"' in page and 'value="250.00"' in page
    if locale == "en":
        assert "Authenticate payment (sandbox)" in page
    assert _pledges(campaign, backer) == []  # nothing is written before the step
    failed = client.post(f"/campaigns/{campaign.id}/pledge", data=body | {"sandbox_3ds": "fail"})
    text = failed.get_data(as_text=True)
    assert failed.status_code == 400 and 'value="250.00"' in text  # back on the form, as typed
    if locale == "en":
        assert "did not confirm the card" in text
    assert _pledges(campaign, backer) == []
    confirmed = client.post(f"/campaigns/{campaign.id}/pledge", data=body | {"sandbox_3ds": "confirm"})
    assert confirmed.status_code == 302
    [pledge] = _pledges(campaign, backer)
    assert pledge.status == PledgeStatus.ACTIVE and pledge.amount == 250_00 and "3155" in pledge.card_label


def test_an_ordinary_card_has_no_extra_step(client, login, provider, factories):
    login(factories.UserFactory(roles=[Role.BACKER]))
    campaign = CampaignFactory()
    response = client.post(f"/campaigns/{campaign.id}/pledge",
                           data={"amount": "250.00", "payment_method": "4242424242424242"})
    assert response.status_code == 302


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_deadline_authentication_page_confirms_or_fails_in_the_sandbox(client, login, provider, locale):
    campaign = CampaignFactory(goal_amount=100_00, deadline=utcnow() - timedelta(minutes=5))
    pledge = PledgeFactory(campaign=campaign, amount=300_00, payment_method_ref="pm_sandbox_authentication_required")
    pledge.backer.locale = locale
    settlement.settle()
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.NEEDS_AUTHENTICATION
    login(pledge.backer)
    page = client.get(f"/pledges/{pledge.id}/authenticate").get_data(as_text=True)
    assert 'value="confirm"' in page and 'value="fail"' in page
    if locale == "en":
        assert "Authenticate payment (sandbox)" in page
    failed = client.post(f"/pledges/{pledge.id}/authenticate", data={"outcome": "fail"})
    assert failed.status_code == 302 and failed.headers["Location"].endswith(f"/pledges/{pledge.id}#card")
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.NEEDS_AUTHENTICATION
    detail = client.get(f"/pledges/{pledge.id}").get_data(as_text=True)
    assert f"/pledges/{pledge.id}/authenticate" in detail  # the way back to the step, not a dead end
    assert "needs_authentication<" not in detail and "(needs_authentication)" not in detail
    confirmed = client.post(f"/pledges/{pledge.id}/authenticate", data={"outcome": "confirm"})
    assert confirmed.status_code == 302
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.COLLECTED
    assert len(provider.payment_intents) == 1  # the same PaymentIntent, no second charge
    assert db.session.scalar(select(func.count()).select_from(Pledge)) == 1
