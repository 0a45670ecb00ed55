"""factory_boy factories for funding. They flush (so ids exist) and never commit."""

from __future__ import annotations

from datetime import timedelta

import factory

from funding.models import Campaign, CampaignStatus, FundingModel, Pledge, PledgeStatus, Reward
from incubation.models import ProjectStatus
from portal.auth.models import Role
from portal.db import utcnow
from tests.factories import BaseFactory, UserFactory
from tests.incubation.factories import ProjectFactory


class CampaignFactory(BaseFactory):
    class Meta:
        model = Campaign

    project = factory.SubFactory(ProjectFactory, status=ProjectStatus.INCUBATING)
    title = factory.Sequence(lambda n: f"Campaign {n}")
    story = "Help us build the first production run."
    goal_amount = 100_000_00
    currency = "CNY"
    deadline = factory.LazyFunction(lambda: utcnow() + timedelta(days=20))
    funding_model = FundingModel.ALL_OR_NOTHING
    status = CampaignStatus.LIVE


class RewardFactory(BaseFactory):
    class Meta:
        model = Reward

    campaign = factory.SubFactory(CampaignFactory)
    title = factory.Sequence(lambda n: f"Reward {n}")
    description = "One unit"
    amount = 1000_00
    quantity = None


class PledgeFactory(BaseFactory):
    class Meta:
        model = Pledge

    campaign = factory.SubFactory(CampaignFactory)
    backer = factory.SubFactory(UserFactory, roles=[Role.BACKER])
    reward = None
    amount = 1000_00
    status = PledgeStatus.ACTIVE
    provider = "sandbox"
    customer_ref = "cus_sandbox_test"
    payment_method_ref = "pm_sandbox_visa"
    card_label = "Visa •••• 4242 (sandbox)"
