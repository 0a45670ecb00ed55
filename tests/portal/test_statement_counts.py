"""Constant work per page (issue 13, point 1): every list page and list endpoint costs the same number of
SQL statements with a few objects as with several times more. A page that loads a relation per row, asks
for a rating or a count per row, or slices a whole list in Python fails here.

Each list is asked once with the world at size 1 and once after adding more of everything (more than one
page's worth would hide growth behind the page size, so the lists stay under a page: what is compared is
the statements per row shown). The first request after a change also runs the search index job, so each
measurement is taken on the second request."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from tests.dbutil import counted_statements
from tests.funding.factories import CampaignFactory, PledgeFactory, RewardFactory
from tests.incubation.factories import (
    IdeaFactory,
    IdeaVoteFactory,
    MentorProfileFactory,
    MentorSlotFactory,
    ProjectFactory,
)
from tests.resources.factories import BookingFactory, ResourceFactory

LISTS = [
    "/", "/resources/", "/api/v1/resources", "/resources/idle", "/api/v1/resources/idle-capacity",
    "/campaigns/", "/api/v1/campaigns", "/projects/", "/api/v1/projects", "/ideas/", "/api/v1/ideas",
    "/mentors/", "/api/v1/mentors", "/organisations/", "/search?q=lab",
]


def grow(factories, count: int) -> None:
    """`count` more of everything a list shows, each with the relations its card shows."""
    company = factories.OrganisationFactory(kind="company")
    startup = factories.OrganisationFactory(kind="startup")
    for n in range(count):
        resource = ResourceFactory(organisation=company, name=f"Lab {n}",
                                   opening_hours=[(d, "08:00", "20:00") for d in range(7)])
        BookingFactory(resource=resource)
        project = ProjectFactory(organisation=startup, status="submitted", title=f"Lab kit {n}")
        campaign = CampaignFactory(project=project, deadline=utcnow() + timedelta(days=10 + n))
        reward = RewardFactory(campaign=campaign, amount=10_00)
        PledgeFactory(campaign=campaign, reward=reward, amount=20_00)
        idea = IdeaFactory(title=f"Idea {n}")
        IdeaVoteFactory(idea=idea)
        mentor = factories.UserFactory(roles=[Role.MENTOR], name=f"Mentor {n}")
        profile = MentorProfileFactory(user=mentor)
        MentorSlotFactory(mentor_profile=profile)
    db.session.flush()


def statements_for(client, path: str) -> int:
    client.get(path)
    with counted_statements() as seen:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(seen)


@pytest.mark.parametrize("path", LISTS)
def test_a_list_costs_the_same_statements_with_more_rows(client, factories, path):
    grow(factories, 2)
    small = statements_for(client, path)
    grow(factories, 6)
    large = statements_for(client, path)
    assert large == small, f"{path}: {small} statements with a few rows, {large} with more"
