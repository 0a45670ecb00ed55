"""Rules for publishing resources, their public prices and opening hours. Flush, never commit.

Input is a command (resources.schemas): its shape, bounds and cross-field rules are checked where it is
built (the API body, the HTML form, the demo seeder); what stays here are the rules about the world
(which organisation may publish, verification, what changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from portal import audit
from portal.auth.models import User
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.organisations.models import Membership, Organisation, OrganisationKind
from portal.organisations.services import require_verified, set_publication
from resources.models import OpeningHours, Resource, ResourcePhoto, ResourcePrice
from resources.schemas import BookingPolicy, NewPhoto, NewResource, PriceTable, Terms


def utc_offset_label(timezone: str, moment: datetime | None = None) -> str:
    """ "UTC+08:00" for the zone now: shown next to opening hours so visitors elsewhere can convert."""
    from portal.db import utcnow

    offset = (moment or utcnow()).astimezone(ZoneInfo(timezone)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# ---- commands ----------------------------------------------------------------------------------

def create_resource(organisation: Organisation, cmd: NewResource, actor: User | None) -> Resource:
    """Publish a resource of an anchor company with its prices and opening hours, or raise 400.

    Whether `actor` may publish for `organisation` is checked by the caller (permission
    `PUBLISH_RESOURCES` on the organisation); the organisation must be a company.
    """
    if organisation.kind != OrganisationKind.COMPANY:
        raise ValidationFailed.field("organisation_id", _("Only anchor companies publish labs and equipment."))
    if cmd.published:
        require_verified(organisation)
    resource = Resource(organisation=organisation, **cmd.resource_fields())
    resource.prices = [ResourcePrice(**price.model_dump()) for price in cmd.prices]
    resource.opening_hours = [OpeningHours(weekday=h.weekday, opens=h.start, closes=h.end) for h in cmd.opening_hours]
    db.session.add(resource)
    db.session.flush()
    audit.record("resource.created", resource, actor_id=actor.id if actor is not None else None, after={
        "organisation_id": organisation.id, "name": resource.name, "kind": resource.kind,
        "prices": [p.as_dict() for p in resource.prices], "terms_version": resource.terms_version})
    return resource


def add_photo(resource: Resource, stored_file_id: int, cmd: NewPhoto) -> ResourcePhoto:
    """A stored image (portal.uploads) shown on the resource's page."""
    photo = ResourcePhoto(stored_file_id=stored_file_id, caption=cmd.caption)
    resource.photos.append(photo)
    db.session.flush()
    return photo


def set_published(resource: Resource, published: bool, actor: User | None) -> Resource:
    """Publish a prepared resource (the company must be verified: 409 `organisation_unverified`) or withdraw it."""
    set_publication(resource, published, resource.organisation, actor, "resource")
    return resource


def update_prices(resource: Resource, cmd: PriceTable, actor: User | None) -> Resource:
    """Replace the public price table; audited with before and after when anything changed."""
    before = [p.as_dict() for p in resource.prices]
    wanted = {(p.audience, p.unit): p.model_dump() for p in cmd.prices}
    # Update rows in place rather than delete-and-insert: the unique (resource, audience, unit)
    # constraint would see the new row before the old one is gone.
    for price in list(resource.prices):
        new = wanted.pop((price.audience, price.unit), None)
        if new is None:
            resource.prices.remove(price)
        else:
            price.amount, price.currency = new["amount"], new["currency"]
    db.session.flush()
    for new in wanted.values():
        resource.prices.append(ResourcePrice(**new))
    db.session.flush()
    db.session.refresh(resource, ["prices"])
    after = [p.as_dict() for p in resource.prices]
    if sorted(before, key=_price_key) != sorted(after, key=_price_key):
        audit.record("resource.prices_changed", resource, before={"prices": before}, after={"prices": after},
                     actor_id=actor.id if actor is not None else None)
    return resource


def _price_key(price: Mapping[str, Any]) -> tuple:
    return (price["audience"], price["unit"])


# ---- queries -----------------------------------------------------------------------------------

def _member_organisations(user: User) -> Select:
    return select(Membership.organisation_id).where(Membership.user_id == user.id)


def resources_query(*, kind: str | None = None, city: str | None = None, organisation_id: int | None = None,
                    viewer: User | None = None) -> Select:
    """Published resources, plus unpublished ones of the viewer's organisations; filters are optional."""
    stmt = select(Resource).options(selectinload(Resource.organisation)).order_by(Resource.name, Resource.id)
    if viewer is not None and getattr(viewer, "is_authenticated", False):
        if not viewer.is_admin:
            stmt = stmt.where(or_(Resource.published.is_(True),
                                  Resource.organisation_id.in_(_member_organisations(viewer))))
    else:
        stmt = stmt.where(Resource.published.is_(True))
    if kind:
        stmt = stmt.where(Resource.kind == kind)
    if city:
        stmt = stmt.where(Resource.city.icontains(city.strip(), autoescape=True))
    if organisation_id is not None:
        stmt = stmt.where(Resource.organisation_id == organisation_id)
    return stmt


def resources_of_member(user: User) -> list[Resource]:
    """Every resource (published or not) of the company organisations `user` belongs to."""
    return list(db.session.scalars(
        select(Resource).join(Organisation, Resource.organisation_id == Organisation.id)
        .where(Resource.organisation_id.in_(_member_organisations(user)),
               Organisation.kind == OrganisationKind.COMPANY)
        .order_by(Organisation.name, Resource.name)))


def publishable_organisations(user: User) -> list[Organisation]:
    """The company organisations `user` may publish resources for."""
    from portal.organisations.services import organisations_of

    return organisations_of(user, OrganisationKind.COMPANY)


def cities() -> list[str]:
    return list(db.session.scalars(
        select(Resource.city).where(Resource.published.is_(True), Resource.city != "").distinct()
        .order_by(Resource.city)))


def update_booking_policy(resource: Resource, cmd: BookingPolicy, actor: User | None) -> Resource:
    """Cancellation policy and weekly quota; audited (they change what bookers pay and may book)."""
    changes = cmd.model_dump()
    before = {key: getattr(resource, key) for key in changes}
    for key, value in changes.items():
        setattr(resource, key, value)
    db.session.flush()
    if before != changes:
        audit.record("resource.booking_policy_changed", resource, before=before, after=changes,
                     actor_id=actor.id if actor is not None else None)
    return resource


def update_terms(resource: Resource, cmd: Terms, actor: User | None) -> Resource:
    """Replace the IP/NDA terms; a changed text gets a new version, which bookers must accept from then on
    (each booking keeps the version its booker accepted)."""
    text = cmd.terms_text
    if text != resource.terms_text:
        before = {"terms_version": resource.terms_version, "terms_text": resource.terms_text}
        resource.terms_text = text
        resource.terms_version += 1
        db.session.flush()
        audit.record("resource.terms_changed", resource, before=before,
                     after={"terms_version": resource.terms_version, "terms_text": text},
                     actor_id=actor.id if actor is not None else None)
    return resource
