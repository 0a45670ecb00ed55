"""Upcoming campaigns: approved with a launch time ahead, listed under Upcoming with their launch date; they
take no pledge before it and go live by themselves at that time. The list's filters: category and text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from funding.models import Campaign, CampaignStatus
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from tests.funding.factories import CampaignFactory
from tests.incubation.factories import ProjectFactory


def _page(client, query: str = "") -> str:
    response = client.get(f"/campaigns/{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_an_upcoming_campaign_is_listed_under_upcoming_and_goes_live_at_its_launch_time(
        client, bearer, factories, provider):
    launch = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    upcoming = CampaignFactory(title="Launching kettle", launch_at=launch, deadline=launch + timedelta(days=20))
    CampaignFactory(title="Running kettle")

    live = _page(client)
    assert "Running kettle" in live and "Launching kettle" not in live
    listed = _page(client, "?tab=upcoming")
    assert "Launching kettle" in listed and "Running kettle" not in listed
    assert "Launches" in listed and f'href="/campaigns/{upcoming.id}"' in listed
    detail = client.get(f"/campaigns/{upcoming.id}").get_data(as_text=True)
    assert "Opens for pledges on" in detail and f"/campaigns/{upcoming.id}/pledge" not in detail

    backer = factories.UserFactory(roles=[Role.BACKER])
    refused = client.post(f"/api/v1/campaigns/{upcoming.id}/pledges", headers=bearer(backer),
                          json={"amount": 100_00, "payment_method": "4242424242424242"})
    assert refused.status_code == 409 and "opens for pledges" in refused.json["error"]["message"]

    # Its launch time comes: nothing runs, the next read sees it live.
    db.session.get(Campaign, upcoming.id).launch_at = utcnow() - timedelta(minutes=1)
    assert "Launching kettle" in _page(client)
    assert "Launching kettle" not in _page(client, "?tab=upcoming")
    detail = client.get(f"/campaigns/{upcoming.id}").get_data(as_text=True)
    assert "Back this project" in detail and "Opens for pledges on" not in detail
    assert client.post(f"/api/v1/campaigns/{upcoming.id}/pledges", headers=bearer(backer),
                       json={"amount": 100_00, "payment_method": "4242424242424242"}).status_code == 201


def test_a_submitted_campaign_with_a_launch_time_stays_private_until_approved(client, factories):
    CampaignFactory(title="Unapproved kettle", status=CampaignStatus.SUBMITTED,
                    launch_at=utcnow() + timedelta(days=2))
    assert "Unapproved kettle" not in _page(client, "?tab=upcoming")


def test_the_founder_sets_the_launch_time_in_their_own_zone(client, login, factories):
    founder = factories.UserFactory(roles=[Role.FOUNDER], timezone="Asia/Shanghai")
    project = ProjectFactory(organisation=factories.OrganisationFactory(kind="startup", owner=founder))
    login(founder)
    form = client.get("/campaigns/new").get_data(as_text=True)
    assert 'name="launch_at"' in form and 'type="datetime-local"' in form
    day = (utcnow() + timedelta(days=3)).astimezone(ZoneInfo("Asia/Shanghai")).date()
    deadline = (utcnow() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    data = {"project_id": project.id, "title": "Scheduled kettle", "goal-amount": "5000", "goal-currency": "CNY",
            "deadline": deadline, "funding_model": "all_or_nothing", "launch_at": f"{day.isoformat()}T09:00"}
    created = client.post("/campaigns/new", data=data)
    assert created.status_code == 302, created.get_data(as_text=True)
    campaign = db.session.scalar(select(Campaign).where(Campaign.title == "Scheduled kettle"))
    expected = datetime(day.year, day.month, day.day, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
    assert campaign.launch_at == expected  # 09:00 in Shanghai is 01:00 UTC

    too_late = client.post("/campaigns/new", data=dict(data, title="Late kettle", launch_at=(
        utcnow() + timedelta(days=25)).strftime("%Y-%m-%dT%H:%M")))
    assert too_late.status_code == 400 and "Launch at least a day before the deadline" in too_late.get_data(
        as_text=True)
    past = client.post("/campaigns/new", data=dict(data, title="Past kettle", launch_at=(
        utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")))
    assert past.status_code == 400 and "must be in the future" in past.get_data(as_text=True)
    assert db.session.scalar(select(Campaign).where(Campaign.title.in_(["Late kettle", "Past kettle"]))) is None


def test_the_list_filters_by_category_and_text(client):
    CampaignFactory(title="Quiet kettle", project__industry="Appliances", story="Boils without a sound")
    CampaignFactory(title="Solar lamp", project__industry="Energy")
    page = _page(client, "?category=Energy")
    assert "Solar lamp" in page and "Quiet kettle" not in page
    assert 'id="category-filter"' in page and ">Appliances<" in page
    by_text = _page(client, "?q=without+a+sound")
    assert "Quiet kettle" in by_text and "Solar lamp" not in by_text
    assert "Quiet kettle" in _page(client, "?q=QUIET")
    assert "Quiet kettle" not in _page(client, "?q=%25%25")  # a wildcard typed is a character
    assert "Solar lamp" in _page(client, "?category=Nonsense")  # unknown category: ignored


def test_approving_a_campaign_with_a_launch_ahead_makes_it_upcoming(client, login, factories):
    launch = utcnow() + timedelta(days=3)
    campaign = CampaignFactory(title="Approved later kettle", status=CampaignStatus.SUBMITTED, launch_at=launch,
                               deadline=launch + timedelta(days=10))
    login(factories.UserFactory(roles=[Role.ADMIN]))
    approved = client.post(f"/campaigns/{campaign.id}/approve", follow_redirects=True).get_data(as_text=True)
    assert "Approved. The campaign opens for pledges on" in approved
    client.post("/auth/logout")
    assert "Approved later kettle" in _page(client, "?tab=upcoming")
    assert "Approved later kettle" not in _page(client)
