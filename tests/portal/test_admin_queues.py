"""Admin work queues: submitted campaigns, projects awaiting screening, unverified companies; counts in the navbar."""

from __future__ import annotations

import re

from sqlalchemy import event

from funding.models import CampaignStatus
from incubation.models import ProjectStatus
from portal.extensions import db
from tests.funding.factories import CampaignFactory


def _queue_total(html: str) -> int | None:
    match = re.search(r'data-admin-queue-total>(\d+)<', html)
    return int(match.group(1)) if match else None


def test_a_submitted_campaign_waits_in_the_admin_queue_and_the_navbar_counts_it(client, factories, login):
    campaign = CampaignFactory(status=CampaignStatus.SUBMITTED, title="Quiet kettle awaiting approval")
    CampaignFactory(status=CampaignStatus.LIVE, title="Already live kettle")
    login(factories.UserFactory(roles=["admin"]))

    page = client.get("/admin/queues/campaigns")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Quiet kettle awaiting approval" in html
    assert f'href="/campaigns/{campaign.id}"' in html  # where the admin approves it
    assert "Already live kettle" not in html
    assert re.search(r'data-queue-count="campaigns">1<', html)

    home = client.get("/").get_data(as_text=True)
    assert _queue_total(home) is not None and _queue_total(home) >= 1  # the project behind it may wait too


def test_queue_counts_are_one_query_and_only_for_admins(client, factories, login, app):
    CampaignFactory(status=CampaignStatus.SUBMITTED)
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    login(factories.UserFactory(roles=["admin"]))
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        client.get("/dashboard")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    counting = [s for s in statements if "count(" in s.lower() and "campaign" in s and "organisation" in s]
    assert len(counting) == 1


def test_people_who_are_not_admins_see_neither_queue_nor_count(client, factories, login):
    CampaignFactory(status=CampaignStatus.SUBMITTED, title="Hidden kettle")
    for path in ("/admin/queues/campaigns", "/admin/queues/projects", "/admin/queues/companies"):
        assert client.get(path).status_code == 302  # anonymous: to the login page
    login(factories.UserFactory(roles=["founder", "company", "backer"]))
    for path in ("/admin/queues/campaigns", "/admin/queues/projects", "/admin/queues/companies"):
        assert client.get(path).status_code in (403, 404)
    assert _queue_total(client.get("/").get_data(as_text=True)) is None


def test_projects_in_screening_and_unverified_companies_have_their_queues(client, factories, login):
    from tests.incubation.factories import ProjectFactory

    screening = ProjectFactory(status=ProjectStatus.SCREENING, title="Screened fridge")
    ProjectFactory(status=ProjectStatus.INCUBATING, title="Incubating fridge")
    unverified = factories.OrganisationFactory(kind="company", name="Unchecked Works", verified_at=None)
    factories.OrganisationFactory(kind="company", name="Checked Works")
    login(factories.UserFactory(roles=["admin"]))

    projects = client.get("/admin/queues/projects").get_data(as_text=True)
    assert "Screened fridge" in projects and "Incubating fridge" not in projects
    assert f'href="/projects/{screening.id}"' in projects
    assert "<td>Screening</td>" in projects  # the label, not the raw status

    companies = client.get("/admin/queues/companies").get_data(as_text=True)
    assert "Unchecked Works" in companies and "Checked Works" not in companies
    assert f'href="/organisations/{unverified.id}"' in companies


def test_queues_are_paged(client, factories, login):
    for n in range(27):
        factories.OrganisationFactory(kind="company", name=f"Waiting company {n:02d}", verified_at=None)
    login(factories.UserFactory(roles=["admin"]))
    first = client.get("/admin/queues/companies").get_data(as_text=True)
    second = client.get("/admin/queues/companies?page=2").get_data(as_text=True)
    assert first.count("Waiting company") == 25
    assert second.count("Waiting company") >= 2
    assert "Waiting company 26" in second
