"""The people around a project (organisation members, founders) and the caller's address."""

from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy import select

from incubation.models import Project
from portal.auth.models import User
from portal.extensions import db
from portal.organisations.models import Membership

# ---- people around a project -----------------------------------------------------------------

def authenticated(user: User | None) -> bool:
    """A signed-in user (not None, not the anonymous user)."""
    return user is not None and getattr(user, "is_authenticated", False)


def organisation_members(organisation_id: int) -> list[User]:
    return list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                   .where(Membership.organisation_id == organisation_id).order_by(User.id)))


def founders_of(project: Project) -> list[User]:
    """The members of the project's startup."""
    return organisation_members(project.organisation_id)


def client_ip() -> str | None:
    """The caller's address for audit rows (None outside a request)."""
    return request.remote_addr if has_request_context() else None
