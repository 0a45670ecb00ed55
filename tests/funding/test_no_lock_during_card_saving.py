"""No lock is held while the payment provider saves a card: a slow provider (2 s) for one backer does not
hold up another backer's pledge on the same limited reward, and the reward is still never oversold.

Real threads and requests on a scratch database that commits for real, on SQLite (where a writing request
takes the single write lock at its first query) and on PostgreSQL (row lock on the reward).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from flask_migrate import upgrade
from sqlalchemy import func, select

from funding.models import BackerAccount, Pledge
from funding.payments import DatabaseSandboxStore, SandboxProvider
from portal.auth.models import Role
from portal.db import commit, utcnow
from portal.extensions import db
from tests.conftest import make_test_app
from tests.dbutil import drop_scratch_database, scratch_database_url

SLOW = 2.0


class SlowCardProvider(SandboxProvider):
    """Saving a card takes SLOW seconds for the customers in `slow` (the database-backed sandbox otherwise,
    as `get_provider()` builds it: its calls leave the process, like Stripe's)."""

    def __init__(self):
        super().__init__(store=DatabaseSandboxStore())
        self.slow: set[str] = set()
        self.saving = threading.Event()

    def save_card(self, customer_ref: str, payment_method: str, field: str = "payment_method"):
        if customer_ref in self.slow:
            self.saving.set()
            time.sleep(SLOW)
        return super().save_card(customer_ref, payment_method, field)


def test_a_slow_card_save_does_not_hold_up_another_pledge_on_the_same_reward(tmp_path):
    from portal.auth.services import create_api_token
    from tests import factories
    from tests.funding.factories import CampaignFactory, RewardFactory

    url = scratch_database_url("slowcard", tmp_path)
    app = make_test_app(url)
    provider = SlowCardProvider()
    app.extensions["funding_provider"] = provider
    try:
        with app.app_context():
            upgrade()
            campaign = CampaignFactory(deadline=utcnow() + timedelta(days=10))
            reward = RewardFactory(campaign=campaign, amount=100_00, quantity=1)  # the last one
            slow_backer, quick_backer = (factories.UserFactory(roles=[Role.BACKER]) for _ in range(2))
            headers = {user.id: {"Authorization": f"Bearer {create_api_token(user, 'tests')[1]}"}
                       for user in (slow_backer, quick_backer)}
            provider.slow.add(provider.ensure_customer(slow_backer.email, slow_backer.name, None))
            campaign_id, reward_id = campaign.id, reward.id
            slow_id, quick_id = slow_backer.id, quick_backer.id
            commit()
            db.session.remove()

        answers: dict[int, tuple[int, float, dict]] = {}

        def pledge(backer_id: int) -> None:
            started = time.monotonic()
            response = app.test_client().post(f"/api/v1/campaigns/{campaign_id}/pledges", headers=headers[backer_id],
                                              json={"amount": 100_00, "reward_id": reward_id,
                                                    "payment_method": "4242424242424242"})
            answers[backer_id] = (response.status_code, time.monotonic(), response.get_json())
            answers[-backer_id] = (0, time.monotonic() - started, {})

        slow = threading.Thread(target=pledge, args=(slow_id,))
        slow.start()
        assert provider.saving.wait(timeout=30)  # the slow backer's card is being saved right now
        quick = threading.Thread(target=pledge, args=(quick_id,))
        quick.start()
        quick.join(timeout=30)
        slow.join(timeout=30)

        quick_status, quick_done, quick_body = answers[quick_id]
        slow_status, slow_done, slow_body = answers[slow_id]
        print(f"quick pledge answered in {answers[-quick_id][1]:.3f} s, the slow one in {answers[-slow_id][1]:.3f} s")
        assert quick_status == 201, quick_body
        assert answers[-quick_id][1] < SLOW / 2, answers  # not held up by the slow provider call
        assert quick_done < slow_done - SLOW / 4
        # The slow backer's card was saved, then the stock check (under the lock) found the reward gone.
        assert slow_status == 409, slow_body
        assert slow_body["error"]["fields"] == {"reward_id": ["sold out"]}
        with app.app_context():
            pledged = db.session.scalars(select(Pledge.backer_id).where(Pledge.reward_id == reward_id)).all()
            assert pledged == [quick_id]  # never oversold, and no half-written pledge of the slow backer
            # What is left of the slow backer's attempt is harmless: their customer, to be reused next time.
            assert db.session.scalar(select(func.count()).select_from(BackerAccount)
                                     .where(BackerAccount.user_id == slow_id)) == 1
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_scratch_database(url)
