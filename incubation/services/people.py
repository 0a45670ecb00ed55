"""The people around a project (organisation members, founders) and mailing them in their own language."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import has_request_context, request
from flask_babel import force_locale
from sqlalchemy import select

from incubation.models import Project
from portal.auth.models import User
from portal.extensions import db
from portal.mail import send_mail
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


def mail_one(user: User, build: Callable[[], tuple[str, str]]) -> None:
    """Mail `user` in their own language: `build()` returns (subject, body) and runs under their locale."""
    with force_locale(user.locale or "en"):
        subject, body = build()
        send_mail(user.email, str(subject), str(body))


def mail_all(users: Iterable[User], build: Callable[[], tuple[str, str]]) -> None:
    """One mail per recipient, each built in that recipient's language."""
    seen = set()
    for user in users:
        if user.email not in seen:
            seen.add(user.email)
            mail_one(user, build)


def client_ip() -> str | None:
    """The caller's address for audit rows (None outside a request)."""
    return request.remote_addr if has_request_context() else None
