"""A limited reward never goes below zero remaining when many backers pledge at the same moment.

Real threads, each with its own connection and transaction, on a scratch PostgreSQL database (the row
lock on the reward is what serialises them; SQLite has a single writer anyway).
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from funding import services
from funding.models import Pledge, PledgeStatus, Reward
from funding.payments import DatabaseSandboxStore, SandboxProvider
from funding.schemas import NewPledge
from portal.auth.models import Role
from portal.db import commit, rollback, utcnow
from portal.errors import Conflict
from portal.extensions import db
from tests.conftest import make_test_app
from tests.dbutil import drop_scratch_database, scratch_database_url

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")

BACKERS = 12  # below the connection pool size (5 + 10 overflow): each thread holds one at the barrier
QUANTITY = 5


def test_concurrent_pledges_never_oversell_a_limited_reward(tmp_path):
    url = scratch_database_url("rewards", tmp_path)
    app = make_test_app(url)
    app.extensions["funding_provider"] = SandboxProvider(store=DatabaseSandboxStore())  # as in production
    try:
        with app.app_context():
            db.create_all()
            from tests import factories
            from tests.funding.factories import CampaignFactory, RewardFactory

            campaign = CampaignFactory(deadline=utcnow() + timedelta(days=10))
            reward = RewardFactory(campaign=campaign, amount=100_00, quantity=QUANTITY)
            backer_ids = [factories.UserFactory(roles=[Role.BACKER]).id for _ in range(BACKERS)]
            campaign_id, reward_id = campaign.id, reward.id
            commit()

        barrier = threading.Barrier(BACKERS)
        outcomes: list[str] = []
        lock = threading.Lock()

        def pledge(backer_id: int) -> None:
            with app.app_context():
                from funding.models import Campaign
                from portal.auth.models import User

                try:
                    campaign = db.session.get(Campaign, campaign_id)
                    reward = db.session.get(Reward, reward_id)
                    backer = db.session.get(User, backer_id)
                    barrier.wait(timeout=30)
                    services.place_pledge(campaign, backer, NewPledge(amount=100_00, reward_id=reward.id,
                                                                          payment_method="4242424242424242"))
                    commit()
                    outcome = "ok"
                except Conflict:
                    rollback()
                    outcome = "sold out"
                finally:
                    db.session.remove()
                with lock:
                    outcomes.append(outcome)

        threads = [threading.Thread(target=pledge, args=(backer_id,)) for backer_id in backer_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert sorted(outcomes) == sorted(["ok"] * QUANTITY + ["sold out"] * (BACKERS - QUANTITY))
        with app.app_context():
            taken = db.session.scalar(select(func.count()).select_from(Pledge).where(
                Pledge.reward_id == reward_id, Pledge.status == PledgeStatus.ACTIVE))
            assert taken == QUANTITY
            client = app.test_client()
            remaining = client.get(f"/api/v1/campaigns/{campaign_id}").json["rewards"][0]["remaining"]
            assert remaining == 0
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_scratch_database(url)
