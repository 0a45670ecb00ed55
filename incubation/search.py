"""Incubation's searchable documents: mentors and projects (registered with portal.search)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from incubation.models import PRIVATE_PROJECT_STATUSES, MentorProfile, Project
from portal.auth.models import User
from portal.extensions import db
from portal.search.documents import MENTOR, ORGANISATION, PROJECT, USER, as_list, document
from portal.search.registry import (
    DocumentType,
    Key,
    Source,
    expander,
    register_document_type,
    register_source,
)


def _rating(obj) -> float | None:
    """Ratings are being added by the domain work: read them only if the model has one."""
    for name in ("rating", "average_rating"):
        value = getattr(obj, name, None)
        if isinstance(value, int | float):
            return float(value)
    return None


def mentor_document(profile: MentorProfile) -> dict | None:
    user = profile.user
    if user is None or not user.is_active_account:
        return None
    return document(
        MENTOR, profile.id, title=user.name,
        keywords=[*as_list(profile.expertise), *as_list(profile.industries), profile.organisation],
        body=[profile.bio], city=getattr(profile, "city", "") or "", industries=profile.industries,
        languages=profile.languages, rating=_rating(profile), created_at=profile.created_at)


def project_document(project: Project) -> dict | None:
    if project.status in PRIVATE_PROJECT_STATUSES:
        return None
    organisation = project.organisation
    return document(
        PROJECT, project.id, title=project.title,
        keywords=[project.industry, project.stage, project.mode.replace("_", " "), organisation.name,
                  organisation.city],
        body=[project.summary, project.description], city=organisation.city, industries=[project.industry],
        kind=project.stage, created_at=project.created_at)


def _searchable_mentors():
    return select(func.count(MentorProfile.id)).join(User, User.id == MentorProfile.user_id).where(
        User.is_active_account.is_(True))


def _searchable_projects():
    return select(func.count(Project.id)).where(Project.status.not_in(PRIVATE_PROJECT_STATUSES))


@expander(USER)
def mentors_of_user(user_id: int) -> set[Key]:
    """A mentor's document shows the user's name."""
    ids = db.session.scalars(select(MentorProfile.id).where(MentorProfile.user_id == user_id))
    return {(MENTOR, i) for i in ids}


@expander(ORGANISATION)
def projects_of_organisation(organisation_id: int) -> set[Key]:
    """A project's document shows its organisation's name and city."""
    ids = db.session.scalars(select(Project.id).where(Project.organisation_id == organisation_id))
    return {(PROJECT, i) for i in ids}


register_document_type(DocumentType(
    MENTOR, MentorProfile, mentor_document, _searchable_mentors, "incubation.mentor_detail", "profile_id",
    lock_class=7301, order=10, searchable=lambda p: p.user is not None and p.user.is_active_account,
    load_options=lambda: (selectinload(MentorProfile.user),)))
register_document_type(DocumentType(
    PROJECT, Project, project_document, _searchable_projects, "incubation.project_detail", "project_id",
    lock_class=7303, order=30, searchable=lambda p: p.status not in PRIVATE_PROJECT_STATUSES,
    load_options=lambda: (selectinload(Project.organisation),)))
register_source(Source(MentorProfile, lambda o: [(MENTOR, o.id)]))
register_source(Source(Project, lambda o: [(PROJECT, o.id)]))
