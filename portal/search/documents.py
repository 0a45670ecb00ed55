"""What is searchable, and the document each searchable object becomes.

Everything that knows about the domain models lives here, so a model change is adapted in one
place. A document holds only what anyone may see: unpublished resources, draft projects, campaigns
that are not live and deactivated mentors are never documents, and private fields (a project's
problem, solution, market, business model and team, which may sit behind an NDA; funding sought;
contact details) are never copied in. Program applications are never documents: their answers are
what blind reviewers see, and a search for an answer must not lead back to the applicant.

`SOURCES` tells the outbox (sync.py) which model changes touch which documents; `expand` turns an
outbox row into document keys; `build` turns a key into a document (or None: delete it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from portal.extensions import db

MENTOR, RESOURCE, PROJECT, CAMPAIGN = "mentor", "resource", "project", "campaign"
DOC_TYPES = (MENTOR, RESOURCE, PROJECT, CAMPAIGN)
# Outbox kinds that are not document types: they expand into the documents that show their data.
USER, ORGANISATION = "user", "organisation"

Key = tuple[str, int]


@dataclass(frozen=True)
class Source:
    """A model whose changes reach the index. `keys(obj)` names outbox rows; `watch` limits updates
    to changes of those attributes (None: any column change)."""

    model: type
    keys: Callable[[Any], list[Key]]
    watch: frozenset[str] | None = None


def _models():
    from funding.models import Campaign, CampaignStatus
    from incubation.models import MentorProfile, Project, ProjectStatus
    from portal.auth.models import User
    from portal.organisations.models import Organisation
    from resources.models import Resource, ResourcePrice, Review

    return (Campaign, CampaignStatus, MentorProfile, Project, ProjectStatus, User, Organisation, Resource,
            ResourcePrice, Review)


def sources() -> list[Source]:
    (Campaign, _cs, MentorProfile, Project, _ps, User, Organisation, Resource, ResourcePrice, Review) = _models()
    return [
        Source(MentorProfile, lambda o: [(MENTOR, o.id)]),
        Source(User, lambda o: [(USER, o.id)], frozenset({"name", "is_active_account"})),
        Source(Organisation, lambda o: [(ORGANISATION, o.id)], frozenset({"name", "city"})),
        Source(Resource, lambda o: [(RESOURCE, o.id)]),
        Source(ResourcePrice, lambda o: [(RESOURCE, o.resource_id)] if o.resource_id else []),
        # A review after a completed booking changes the resource's average rating.
        Source(Review, lambda o: [(RESOURCE, o.resource_id)] if o.resource_id else []),
        Source(Project, lambda o: [(PROJECT, o.id)]),
        Source(Campaign, lambda o: [(CAMPAIGN, o.id)]),
    ]


# Both languages, whatever the indexing job's locale: a Chinese query for 设备 finds equipment.
KIND_WORDS = {"lab": "lab 实验室", "equipment": "equipment 设备", "workshop": "workshop 工作室",
              "production_line": "production line 产线"}


# ---- helpers ---------------------------------------------------------------------------------

def _list(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v]


def _rating(obj) -> float | None:
    """Ratings are being added by the domain work: read them only if the model has one."""
    for name in ("rating", "average_rating"):
        value = getattr(obj, name, None)
        if isinstance(value, int | float):
            return float(value)
    return None


def _document(doc_type: str, obj_id: int, *, title: str, keywords: Iterable[str] = (), body: Iterable[str] = (),
              city: str = "", industries: Iterable[str] = (), languages: Iterable[str] = (), kind: str = "",
              price_min: int | None = None, price_max: int | None = None, currency: str = "",
              rating: float | None = None, created_at: datetime | None = None) -> dict:
    return {
        "type": doc_type, "id": obj_id, "title": title or "",
        "keywords": " · ".join(k for k in keywords if k), "body": "\n".join(b for b in body if b),
        "city": city or "", "industries": _list(industries), "languages": _list(languages), "kind": kind or "",
        "price_min": price_min, "price_max": price_max, "currency": currency or "", "rating": rating,
        "created_at": created_at,
    }


# ---- builders --------------------------------------------------------------------------------

def mentor_document(profile) -> dict | None:
    user = profile.user
    if user is None or not user.is_active_account:
        return None
    return _document(
        MENTOR, profile.id, title=user.name,
        keywords=[*_list(profile.expertise), *_list(profile.industries), profile.organisation],
        body=[profile.bio], city=getattr(profile, "city", "") or "", industries=profile.industries,
        languages=profile.languages, rating=_rating(profile), created_at=profile.created_at)


def resource_document(resource) -> dict | None:
    if not resource.published:
        return None
    prices = list(resource.prices)
    currency = prices[0].currency if prices else ""
    amounts = [p.amount for p in prices if p.currency == currency]
    specifications = resource.specifications or {}
    specs = [f"{k}: {v}" for k, v in specifications.items()] if isinstance(specifications, dict) else []
    kind_label = KIND_WORDS.get(resource.kind, resource.kind.replace("_", " "))
    qualification = "qualification required 需要资质" if resource.requires_qualification else ""
    return _document(
        RESOURCE, resource.id, title=resource.name,
        keywords=[kind_label, resource.organisation.name, resource.city,
                  qualification],
        body=[resource.description, *specs], city=resource.city, kind=resource.kind,
        price_min=min(amounts) if amounts else None, price_max=max(amounts) if amounts else None,
        currency=currency, rating=rating_of(resource.id)["average"], created_at=resource.created_at)


def rating_of(resource_id: int) -> dict:
    from resources.bookings import rating_of as resource_rating

    return resource_rating(resource_id)


def project_document(project) -> dict | None:
    from incubation.models import ProjectStatus

    if project.status in ProjectStatus.PRIVATE:
        return None
    organisation = project.organisation
    return _document(
        PROJECT, project.id, title=project.title,
        keywords=[project.industry, project.stage, project.mode.replace("_", " "), organisation.name,
                  organisation.city],
        body=[project.summary, project.description], city=organisation.city, industries=[project.industry],
        kind=project.stage, created_at=project.created_at)


def campaign_document(campaign) -> dict | None:
    from funding.models import CampaignStatus
    from incubation.models import ProjectStatus

    project = campaign.project
    if campaign.status != CampaignStatus.LIVE or project is None or project.status in ProjectStatus.PRIVATE:
        return None
    organisation = project.organisation
    return _document(
        CAMPAIGN, campaign.id, title=campaign.title,
        keywords=[project.title, project.industry, organisation.name, organisation.city],
        body=[project.summary, campaign.story], city=organisation.city, industries=[project.industry],
        kind=campaign.funding_model, price_min=campaign.goal_amount, price_max=campaign.goal_amount,
        currency=campaign.currency, created_at=campaign.created_at)


def model_for(doc_type: str) -> type:
    (Campaign, _cs, MentorProfile, Project, _ps, _u, _o, Resource, _rp, _rv) = _models()
    return {MENTOR: MentorProfile, RESOURCE: Resource, PROJECT: Project, CAMPAIGN: Campaign}[doc_type]


BUILDERS = {MENTOR: mentor_document, RESOURCE: resource_document, PROJECT: project_document,
            CAMPAIGN: campaign_document}


def build_for(doc_type: str, obj) -> dict | None:
    return BUILDERS[doc_type](obj) if obj is not None else None


def build(key: Key) -> dict | None:
    doc_type, object_id = key
    return build_for(doc_type, db.session.get(model_for(doc_type), object_id))


def expand(kind: str, object_id: int) -> set[Key]:
    """The documents an outbox row touches (a project's campaigns show the project's title)."""
    (Campaign, _cs, MentorProfile, Project, _ps, _u, _o, Resource, _rp, _rv) = _models()
    if kind == USER:
        ids = db.session.scalars(select(MentorProfile.id).where(MentorProfile.user_id == object_id))
        return {(MENTOR, i) for i in ids}
    if kind == ORGANISATION:
        keys = {(RESOURCE, i) for i in db.session.scalars(select(Resource.id).where(
            Resource.organisation_id == object_id))}
        project_ids = list(db.session.scalars(select(Project.id).where(Project.organisation_id == object_id)))
        keys |= {(PROJECT, i) for i in project_ids}
        if project_ids:
            keys |= {(CAMPAIGN, i) for i in db.session.scalars(select(Campaign.id).where(
                Campaign.project_id.in_(project_ids)))}
        return keys
    if kind == PROJECT:
        return {(PROJECT, object_id)} | {(CAMPAIGN, i) for i in db.session.scalars(
            select(Campaign.id).where(Campaign.project_id == object_id))}
    if kind in DOC_TYPES:
        return {(kind, object_id)}
    return set()


def searchable_filter(doc_type: str):
    """SQL criteria for the rows that should be documents (the `status` command counts them)."""
    (Campaign, CampaignStatus, MentorProfile, Project, ProjectStatus, User, _o, Resource, _rp, _rv) = _models()
    if doc_type == MENTOR:
        return select(func.count(MentorProfile.id)).join(User, User.id == MentorProfile.user_id).where(
            User.is_active_account.is_(True))
    if doc_type == RESOURCE:
        return select(func.count(Resource.id)).where(Resource.published.is_(True))
    if doc_type == PROJECT:
        return select(func.count(Project.id)).where(Project.status.not_in(ProjectStatus.PRIVATE))
    return select(func.count(Campaign.id)).join(Project, Project.id == Campaign.project_id).where(
        Campaign.status == CampaignStatus.LIVE, Project.status.not_in(ProjectStatus.PRIVATE))


def all_documents(batch: int = 500) -> Iterator[dict]:
    """Every document, for a full reindex (streamed by primary key, `batch` objects at a time)."""
    for doc_type in DOC_TYPES:
        model = model_for(doc_type)
        last = 0
        while True:
            objects = db.session.scalars(select(model).where(model.id > last).order_by(model.id).limit(batch)).all()
            if not objects:
                break
            for obj in objects:
                document = build_for(doc_type, obj)
                if document is not None:
                    yield document
            last = objects[-1].id


def count_sources() -> dict[str, int]:
    return {doc_type: db.session.scalar(searchable_filter(doc_type)) or 0 for doc_type in DOC_TYPES}


def url_for_hit(doc_type: str, object_id: int) -> str:
    from flask import url_for

    endpoint, arg = {MENTOR: ("incubation.mentor_detail", "profile_id"),
                     RESOURCE: ("resources.detail", "resource_id"),
                     PROJECT: ("incubation.project_detail", "project_id"),
                     CAMPAIGN: ("funding.campaign_detail", "campaign_id")}[doc_type]
    return url_for(endpoint, **{arg: object_id})
