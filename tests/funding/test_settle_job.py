"""The admin's "Settle now" queues settlement as a background job instead of running it inside the request,
and the campaign page says whether it is running or how it ended."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from funding import settlement, tasks
from funding.models import Pledge, PledgeStatus
from portal import jobs
from portal.audit import AuditEvent
from portal.db import utcnow
from portal.extensions import db
from tests.funding.factories import CampaignFactory, PledgeFactory


class FakeQueue:
    """Stands in for RQ: keeps what was enqueued so the test plays the worker."""

    def __init__(self):
        self.jobs = []

    def enqueue(self, fn, path, args, kwargs):
        if path.startswith("funding."):  # other packages queue their own work (e.g. search indexing)
            self.jobs.append((path, args, kwargs))

    def enqueue_call(self, fn, args, kwargs=None, **options):  # how portal.jobs hands over an outbox row
        self.enqueue(fn, *args)


@pytest.fixture
def queued(app, monkeypatch):
    queue = FakeQueue()
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    monkeypatch.setattr(jobs, "get_queue", lambda: queue)
    return queue


def due_campaign():
    campaign = CampaignFactory(goal_amount=500_00, deadline=utcnow() + timedelta(days=3))
    pledges = [PledgeFactory(campaign=campaign, amount=300_00) for _ in range(2)]
    return campaign, pledges


def test_settle_now_runs_as_a_job_and_the_page_shows_running_then_done(client, login, admin, provider, queued):
    campaign, pledges = due_campaign()
    login(admin)
    url = f"/campaigns/{campaign.id}"
    response = client.post(f"{url}/settle")
    assert response.status_code == 302
    # The request only queued the work: nothing was charged while it ran.
    assert len(queued.jobs) == 1 and queued.jobs[0][0] == "funding.tasks.settle_campaign"
    assert provider.calls == 0
    page = client.get(url).get_data(as_text=True)
    assert "Settlement started" in page and "Settlement is running" in page
    assert 'http-equiv="refresh"' in page and "Settle now" not in page

    again = client.post(f"{url}/settle", follow_redirects=True).get_data(as_text=True)
    assert "already running" in again and len(queued.jobs) == 1

    path, args, kwargs = queued.jobs[0]
    tasks.settle_campaign(*args, **kwargs)  # the worker runs it
    db.session.expire_all()
    assert {db.session.get(Pledge, p.id).status for p in pledges} == {PledgeStatus.COLLECTED}
    assert len(provider.payment_intents) == 2
    page = client.get(url).get_data(as_text=True)
    assert "Settlement done" in page and "Collected: 2" in page
    assert "Settlement is running" not in page and 'http-equiv="refresh"' not in page
    actions = list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "Campaign", AuditEvent.object_id == str(campaign.id),
        AuditEvent.action.like("campaign.settlement_%")).order_by(AuditEvent.id)))
    assert actions == ["campaign.settlement_requested", "campaign.settlement_finished"]


def test_without_redis_the_job_runs_inline_after_the_commit(client, login, admin, provider):
    campaign, pledges = due_campaign()
    login(admin)
    page = client.post(f"/campaigns/{campaign.id}/settle", follow_redirects=True).get_data(as_text=True)
    assert "Settlement started" in page and "Settlement done" in page
    db.session.expire_all()
    assert {db.session.get(Pledge, p.id).status for p in pledges} == {PledgeStatus.COLLECTED}


def test_a_failed_run_is_shown_and_may_be_started_again(client, login, admin, provider, queued, monkeypatch):
    campaign, _pledges = due_campaign()
    login(admin)
    client.post(f"/campaigns/{campaign.id}/settle")

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(settlement, "settle", broken)
    with pytest.raises(RuntimeError):
        tasks.settle_campaign(campaign.id)
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "stopped with an error" in page and "Settle now" in page
    client.post(f"/campaigns/{campaign.id}/settle")
    assert len(queued.jobs) == 2


def test_only_admins_may_settle(client, login, factories, queued):
    campaign, _pledges = due_campaign()
    login(factories.UserFactory())
    assert client.post(f"/campaigns/{campaign.id}/settle").status_code == 403
    assert queued.jobs == []
