"""Who counts as an incubated startup when booking resources (registered with resources.bookings)."""

from __future__ import annotations

from sqlalchemy import or_, select

from incubation.models import Application, Program, Project
from portal.extensions import db
from portal.organisations.models import Organisation
from resources.bookings.pricing import incubatee_check
from resources.models import Resource


@incubatee_check
def is_incubatee(organisation: Organisation, resource: Resource) -> bool:
    """An incubated startup: it has a project accepted into or being incubated by a program, or an
    accepted application to a program of the company that owns the resource. One statement (two EXISTS
    that stop at the first row), as the booking path asks it for every booking."""
    incubating = select(Project.id).where(Project.organisation_id == organisation.id,
                                          Project.status.in_(("accepted", "incubating"))).exists()
    linked = (select(Application.id)
              .join(Project, Application.project_id == Project.id)
              .join(Program, Application.program_id == Program.id)
              .where(Project.organisation_id == organisation.id,
                     Program.organisation_id == resource.organisation_id,
                     Application.status == "accepted").exists())
    return bool(db.session.scalar(select(or_(incubating, linked))))
