"""Resources' searchable documents: published labs, equipment, workshops and production lines
(registered with portal.search), and the availability check behind the "free from ... until" filter."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.search.documents import ORGANISATION, RESOURCE, document
from portal.search.registry import (
    DocumentType,
    Key,
    Source,
    expander,
    register_document_type,
    register_source,
)
from resources.availability import free_intervals
from resources.bookings.reviews import rating_of
from resources.models import Resource, ResourcePrice, Review

# Both languages, whatever the indexing job's locale: a Chinese query for 设备 finds equipment.
KIND_WORDS = {"lab": "lab 实验室", "equipment": "equipment 设备", "workshop": "workshop 工作室",
              "production_line": "production line 产线"}


def resource_document(resource: Resource) -> dict | None:
    if not resource.published:
        return None
    prices = list(resource.prices)
    currency = prices[0].currency if prices else ""
    amounts = [p.amount for p in prices if p.currency == currency]
    specifications = resource.specifications or {}
    specs = [f"{k}: {v}" for k, v in specifications.items()] if isinstance(specifications, dict) else []
    kind_label = KIND_WORDS.get(resource.kind, resource.kind.replace("_", " "))
    qualification = "qualification required 需要资质" if resource.requires_qualification else ""
    return document(
        RESOURCE, resource.id, title=resource.name,
        keywords=[kind_label, resource.organisation.name, resource.city,
                  qualification],
        body=[resource.description, *specs], city=resource.city, kind=resource.kind,
        price_min=min(amounts) if amounts else None, price_max=max(amounts) if amounts else None,
        currency=currency, rating=rating_of(resource.id)["average"], created_at=resource.created_at)


def free_in_window(resource: Resource, first: date, last: date) -> bool:
    """Whether the resource has a bookable stretch (its minimum booking) on those local dates."""
    zone = ZoneInfo(resource.timezone or "UTC")
    start = datetime.combine(first, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return any((b - a).total_seconds() >= resource.min_minutes * 60 for a, b in free_intervals(resource, start, end))


def _searchable_resources():
    return select(func.count(Resource.id)).where(Resource.published.is_(True))


@expander(ORGANISATION)
def resources_of_organisation(organisation_id: int) -> set[Key]:
    """A resource's document shows its organisation's name."""
    ids = db.session.scalars(select(Resource.id).where(Resource.organisation_id == organisation_id))
    return {(RESOURCE, i) for i in ids}


register_document_type(DocumentType(
    RESOURCE, Resource, resource_document, _searchable_resources, "resources.detail", "resource_id",
    lock_class=7302, order=20, available=free_in_window, searchable=lambda resource: resource.published,
    load_options=lambda: (selectinload(Resource.organisation),)))
register_source(Source(Resource, lambda o: [(RESOURCE, o.id)]))
register_source(Source(ResourcePrice, lambda o: [(RESOURCE, o.resource_id)] if o.resource_id else []))
# A review after a completed booking changes the resource's average rating.
register_source(Source(Review, lambda o: [(RESOURCE, o.resource_id)] if o.resource_id else []))
