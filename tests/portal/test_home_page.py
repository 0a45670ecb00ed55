"""The home page links to content: live campaigns, open programs, idle capacity, new ideas."""

from __future__ import annotations

from datetime import timedelta

from funding.models import CampaignStatus
from portal.db import utcnow
from tests.funding.factories import CampaignFactory
from tests.incubation.factories import IdeaFactory, ProgramFactory


def test_home_links_to_a_live_campaign_an_open_program_and_an_idea(client, factories):
    live = CampaignFactory(status=CampaignStatus.LIVE, title="Featured kettle")
    CampaignFactory(status=CampaignStatus.SUBMITTED, title="Secret kettle")
    program = ProgramFactory(title="Spring cohort")
    ProgramFactory(title="Closed cohort", opens_at=utcnow() - timedelta(days=60),
                   closes_at=utcnow() - timedelta(days=1))
    idea = IdeaFactory(title="A quieter fridge")

    html = client.get("/").get_data(as_text=True)
    assert f'href="/campaigns/{live.id}"' in html and "Featured kettle" in html
    assert "Secret kettle" not in html
    assert f'href="/programs/{program.id}"' in html and "Closed cohort" not in html
    assert f'href="/ideas/{idea.id}"' in html
    assert 'href="/resources/idle"' in html


def test_home_shows_idle_capacity_as_links(client, factories):
    from tests.resources.factories import ResourceFactory

    resource = ResourceFactory(name="Idle CNC lab", opening_hours=[(d, "00:00", "23:59") for d in range(7)])
    html = client.get("/").get_data(as_text=True)
    assert "Idle CNC lab" in html
    assert f'href="/resources/{resource.id}/calendar"' in html


def test_home_queries_are_bounded(client, factories):
    for n in range(6):
        CampaignFactory(status=CampaignStatus.LIVE, title=f"Many kettle {n}")
        IdeaFactory(title=f"Many idea {n}")
    html = client.get("/").get_data(as_text=True)
    assert html.count("data-home-campaign=") == 3  # (each card names its campaign twice: the title, the cover's alt)
    assert html.count("Many idea") == 4
