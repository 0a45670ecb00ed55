"""The campaign list: Live / Upcoming / Successful / Ended tabs, the funding-model filter, paging."""

from __future__ import annotations

from funding.models import CampaignStatus, FundingModel
from tests.funding.factories import CampaignFactory


def _titles(client, query: str = "") -> str:
    response = client.get(f"/campaigns/{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_each_tab_shows_its_campaigns(client, factories):
    for status in CampaignStatus:
        CampaignFactory(status=status, title=f"Kettle {status.value}")

    live = _titles(client)
    assert "Kettle live" in live
    assert all(f"Kettle {s}" not in live for s in ("draft", "submitted", "successful", "failed", "fulfilled",
                                                   "cancelled"))
    successful = _titles(client, "?tab=successful")
    assert "Kettle successful" in successful and "Kettle fulfilled" in successful
    assert "Kettle live" not in successful and "Kettle failed" not in successful
    ended = _titles(client, "?tab=ended")
    assert "Kettle failed" in ended and "Kettle cancelled" in ended and "Kettle successful" not in ended
    assert ">Not funded<" in ended  # the status label, never the raw value
    # Submitted campaigns are private until approved: the public upcoming tab does not show them.
    upcoming = _titles(client, "?tab=upcoming")
    assert "Kettle submitted" not in upcoming and "Kettle draft" not in upcoming
    assert _titles(client, "?tab=nonsense").count(">Kettle live</a>") == 1  # unknown tab: live (the link; the cover's alt names it too)


def test_upcoming_shows_the_team_its_own_submitted_campaign(client, factories, login):
    founder = factories.UserFactory()
    mine = CampaignFactory(status=CampaignStatus.SUBMITTED, title="My submitted kettle",
                           project__organisation__owner=founder)
    CampaignFactory(status=CampaignStatus.SUBMITTED, title="Someone else's kettle")
    login(founder)
    upcoming = _titles(client, "?tab=upcoming")
    assert "My submitted kettle" in upcoming and f'href="/campaigns/{mine.id}"' in upcoming
    assert "Someone else&#39;s kettle" not in upcoming and "Someone else's kettle" not in upcoming
    client.post("/auth/logout")
    login(factories.UserFactory(roles=["admin"]))
    assert "Someone else" in _titles(client, "?tab=upcoming")


def test_finished_campaigns_stay_reachable(client):
    ended = CampaignFactory(status=CampaignStatus.FAILED, title="Failed kettle")
    page = _titles(client, "?tab=ended")
    assert f'href="/campaigns/{ended.id}"' in page
    assert client.get(f"/campaigns/{ended.id}").status_code == 200


def test_filter_by_funding_model_within_a_tab(client):
    CampaignFactory(status=CampaignStatus.SUCCESSFUL, title="Keep kettle", funding_model=FundingModel.KEEP_IT_ALL)
    CampaignFactory(status=CampaignStatus.SUCCESSFUL, title="AON kettle", funding_model=FundingModel.ALL_OR_NOTHING)
    page = _titles(client, "?tab=successful&funding_model=keep_it_all")
    assert "Keep kettle" in page and "AON kettle" not in page
    assert "AON kettle" in _titles(client, "?tab=successful&funding_model=bogus")  # unknown filter: ignored


def test_the_list_is_paged(client):
    for n in range(26):
        CampaignFactory(status=CampaignStatus.LIVE, title=f"Paged kettle {n:02d}")
    first = _titles(client)
    assert first.count(">Paged kettle") == 24  # card links (the covers' alt texts name them too)
    second = _titles(client, "?page=2")
    assert second.count(">Paged kettle") == 2
