"""What the home page shows: a few featured live campaigns, open programs, idle capacity and new ideas.

Every list is bounded (LIMIT) and eager-loads what the page shows; the page links each item to its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.extensions import db

FEATURED = 3
PROGRAMS = 4
IDLE = 4
IDLE_DAYS = 7
IDEAS = 4


@dataclass
class Home:
    campaigns: list = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    programs: list = field(default_factory=list)
    idle: list = field(default_factory=list)  # [(resource, free minutes in the next IDLE_DAYS days)]
    ideas: list = field(default_factory=list)  # [(idea, votes)]


def featured_campaigns() -> tuple[list, dict]:
    from funding import listing, services

    campaigns = list(db.session.scalars(listing.featured_live(FEATURED)))
    return campaigns, services.totals_for(c.id for c in campaigns)


def open_programs() -> list:
    from incubation.models import Program
    from incubation.services import open_programs_stmt

    return list(db.session.scalars(open_programs_stmt().options(selectinload(Program.organisation)).limit(PROGRAMS)))


def idle_capacity() -> list:
    """Published resources of companies with the most free bookable time in the next days: the top of the
    idle-capacity ranking (resources.reports, cached for a minute), [(resource, free minutes)]."""
    from resources import reports

    rows, _total = reports.idle_capacity(page=1, per_page=IDLE, days=IDLE_DAYS)
    return [(row.resource, row.free_minutes) for row in rows]


def new_ideas() -> list:
    from incubation.models import Idea, IdeaVote

    votes = func.count(IdeaVote.id)
    stmt = (select(Idea, votes).outerjoin(IdeaVote, IdeaVote.idea_id == Idea.id).group_by(Idea.id)
            .where(Idea.hidden_at.is_(None))  # hidden by moderators
            .order_by(Idea.created_at.desc(), Idea.id.desc()).limit(IDEAS))
    return [(idea, int(count)) for idea, count in db.session.execute(stmt).all()]


def home() -> Home:
    campaigns, totals = featured_campaigns()
    return Home(campaigns=campaigns, totals=totals, programs=open_programs(), idle=idle_capacity(),
                ideas=new_ideas())
