"""Rules for publishing resources, their public prices and opening hours. Flush, never commit.

Input is a plain mapping in the shape of the API body (the HTML form's and the API's `form.data`
have it, so does the demo seeder); every rule lives here so the three agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.numbers import is_currency
from flask_babel import gettext as _
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from portal import audit
from portal.auth.models import User
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.organisations.models import Membership, Organisation, OrganisationKind
from portal.organisations.services import require_verified, set_publication
from resources.models import Audience, OpeningHours, PriceUnit, Resource, ResourceKind, ResourcePrice

DEFAULT_TIMEZONE = "Asia/Shanghai"
MAX_SPECIFICATIONS = 40
MAX_AMOUNT = 1_000_000_000  # minor units: ten million yuan is no price for an hour of lab time
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(:00)?$")

Errors = dict[str, list[str]]


@lru_cache(maxsize=1)
def _known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_valid_timezone(name: Any) -> bool:
    """An IANA name such as "Asia/Shanghai" that zoneinfo can load (not a path, not an abbreviation)."""
    if not isinstance(name, str) or name not in _known_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return False
    return True


def utc_offset_label(timezone: str, moment: datetime | None = None) -> str:
    """ "UTC+08:00" for the zone now: shown next to opening hours so visitors elsewhere can convert."""
    from portal.db import utcnow

    offset = (moment or utcnow()).astimezone(ZoneInfo(timezone)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# ---- cleaning ----------------------------------------------------------------------------------

def _add(errors: Errors, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _text(data: Mapping, name: str, errors: Errors, max_length: int, required: bool = False) -> str:
    value = data.get(name)
    value = "" if value is None else value
    if not isinstance(value, str):
        _add(errors, name, _("Must be text."))
        return ""
    value = value.strip()
    if required and not value:
        _add(errors, name, _("This field is required."))
    elif len(value) > max_length:
        _add(errors, name, _("At most %(max)d characters.", max=max_length))
    return value


def _int(data: Mapping, name: str, errors: Errors, default: int | None, low: int, high: int,
         key: str | None = None) -> int:
    key = key or name
    value = data.get(name)
    if value is None or value == "":
        if default is None:
            _add(errors, key, _("This field is required."))
            return low
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            _add(errors, key, _("Must be a whole number."))
            return low
    if not low <= value <= high:
        _add(errors, key, _("Must be between %(low)d and %(high)d.", low=low, high=high))
    return value


def _bool(data: Mapping, name: str, default: bool = False) -> bool:
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def _choice(data: Mapping, name: str, errors: Errors, choices: Iterable[str], key: str | None = None) -> str:
    value = data.get(name)
    if value not in tuple(choices):
        _add(errors, key or name, _("Choose one of: %(choices)s.", choices=", ".join(choices)))
        return ""
    return value


def _specifications(value: Any, errors: Errors) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping):
        _add(errors, "specifications", _("Must be an object of names and values."))
        return {}
    if len(value) > MAX_SPECIFICATIONS:
        _add(errors, "specifications", _("At most %(max)d entries.", max=MAX_SPECIFICATIONS))
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or len(key) > 80:
            _add(errors, "specifications", _("Names must be text of 1 to 80 characters."))
            continue
        if not isinstance(item, str | int | float | bool) or (isinstance(item, str) and len(item) > 500):
            _add(errors, "specifications", _("Values must be text (at most 500 characters) or numbers."))
            continue
        cleaned[key.strip()] = item.strip() if isinstance(item, str) else item
    return cleaned


def _clock(value: Any, key: str, errors: Errors) -> time | None:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    match = _TIME.match(str(value or "").strip())
    if match is None:
        _add(errors, key, _("Use a time as HH:MM, for example 09:00."))
        return None
    return time(int(match.group(1)), int(match.group(2)))


def clean_prices(prices: Any, errors: Errors) -> list[dict[str, Any]]:
    """Validated prices; one per (audience, unit), one currency per resource, amounts in minor units."""
    if prices is None:
        return []
    if not isinstance(prices, list | tuple):
        _add(errors, "prices", _("Must be a list."))
        return []
    cleaned, seen, currencies = [], set(), set()
    for index, raw in enumerate(prices):
        key = f"prices.{index}"
        if not isinstance(raw, Mapping):
            _add(errors, key, _("Must be an object."))
            continue
        audience = _choice(raw, "audience", errors, Audience.ALL, f"{key}.audience")
        unit = _choice(raw, "unit", errors, PriceUnit.ALL, f"{key}.unit")
        amount = _int(raw, "amount", errors, None, 0, MAX_AMOUNT, f"{key}.amount")
        currency = str(raw.get("currency") or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency) or not is_currency(currency):
            _add(errors, f"{key}.currency", _("Use a three-letter currency code such as CNY."))
        elif currencies and currency not in currencies:
            _add(errors, f"{key}.currency", _("All prices of a resource use the same currency."))
        currencies.add(currency)
        if audience and unit:
            if (audience, unit) in seen:
                _add(errors, f"{key}.audience", _("There is already a price for this audience and unit."))
            seen.add((audience, unit))
        cleaned.append({"audience": audience, "unit": unit, "amount": amount, "currency": currency})
    return cleaned


def clean_opening_hours(hours: Any, errors: Errors) -> list[dict[str, Any]]:
    """Validated intervals (local time of the resource); intervals on one weekday may not overlap."""
    if hours is None:
        return []
    if not isinstance(hours, list | tuple):
        _add(errors, "opening_hours", _("Must be a list."))
        return []
    cleaned: list[dict[str, Any]] = []
    for index, raw in enumerate(hours):
        key = f"opening_hours.{index}"
        if not isinstance(raw, Mapping):
            _add(errors, key, _("Must be an object."))
            continue
        weekday = _int(raw, "weekday", errors, None, 0, 6, f"{key}.weekday")
        opens = _clock(raw.get("start"), f"{key}.start", errors)
        closes = _clock(raw.get("end"), f"{key}.end", errors)
        if opens is None or closes is None:
            continue
        if opens >= closes:
            _add(errors, f"{key}.end", _("Closing time must be after opening time (split overnight hours in two)."))
            continue
        for other in cleaned:
            if other["weekday"] == weekday and opens < other["closes"] and other["opens"] < closes:
                _add(errors, f"{key}.start", _("Overlaps other opening hours on the same day."))
                break
        else:
            cleaned.append({"weekday": weekday, "opens": opens, "closes": closes})
    return cleaned


def _clean_resource(data: Mapping, errors: Errors) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": _text(data, "name", errors, 160, required=True),
        "kind": _choice(data, "kind", errors, ResourceKind.ALL),
        "description": _text(data, "description", errors, 5000),
        "specifications": _specifications(data.get("specifications"), errors),
        "city": _text(data, "city", errors, 80),
        "address": _text(data, "address", errors, 255),
        "terms_text": _text(data, "terms_text", errors, 10000),
        "capacity": _int(data, "capacity", errors, 1, 1, 10_000),
        "min_minutes": _int(data, "min_minutes", errors, 30, 1, 7 * 24 * 60),
        "max_minutes": _int(data, "max_minutes", errors, 480, 1, 31 * 24 * 60),
        "buffer_minutes": _int(data, "buffer_minutes", errors, 0, 0, 24 * 60),
        "advance_days": _int(data, "advance_days", errors, 60, 1, 730),
        "requires_approval": _bool(data, "requires_approval"),
        "requires_qualification": _bool(data, "requires_qualification"),
        "published": _bool(data, "published", default=True),
        "cancel_free_hours": _int(data, "cancel_free_hours", errors, 24, 0, 24 * 60),
        "late_cancel_fee_percent": _int(data, "late_cancel_fee_percent", errors, 50, 0, 100),
        "quota_minutes_per_week": (None if data.get("quota_minutes_per_week") in (None, "") else
                                   _int(data, "quota_minutes_per_week", errors, None, 1, 7 * 24 * 60)),
    }
    if "max_minutes" not in errors and "min_minutes" not in errors and fields["max_minutes"] < fields["min_minutes"]:
        _add(errors, "max_minutes", _("Must be at least the minimum duration."))
    timezone = data.get("timezone") or DEFAULT_TIMEZONE
    if not is_valid_timezone(timezone):
        _add(errors, "timezone", _("Use an IANA time zone name such as Asia/Shanghai."))
    fields["timezone"] = timezone
    return fields


# ---- commands ----------------------------------------------------------------------------------

def create_resource(organisation: Organisation, data: Mapping[str, Any], actor: User | None) -> Resource:
    """Publish a resource of an anchor company with its prices and opening hours, or raise 400.

    Whether `actor` may publish for `organisation` is checked by the caller (permission
    `PUBLISH_RESOURCES` on the organisation); the organisation must be a company.
    """
    errors: Errors = {}
    if organisation.kind != OrganisationKind.COMPANY:
        _add(errors, "organisation_id", _("Only anchor companies publish labs and equipment."))
    fields = _clean_resource(data, errors)
    prices = clean_prices(data.get("prices"), errors)
    hours = clean_opening_hours(data.get("opening_hours"), errors)
    if errors:
        raise ValidationFailed(_("Some fields are not valid."), errors)
    if fields["published"]:
        require_verified(organisation)
    resource = Resource(organisation=organisation, **fields)
    resource.prices = [ResourcePrice(**price) for price in prices]
    resource.opening_hours = [OpeningHours(**interval) for interval in hours]
    db.session.add(resource)
    db.session.flush()
    audit.record("resource.created", resource, actor_id=actor.id if actor is not None else None, after={
        "organisation_id": organisation.id, "name": resource.name, "kind": resource.kind,
        "prices": [p.as_dict() for p in resource.prices], "terms_version": resource.terms_version})
    return resource


def set_published(resource: Resource, published: bool, actor: User | None) -> Resource:
    """Publish a prepared resource (the company must be verified: 409 `organisation_unverified`) or withdraw it."""
    set_publication(resource, published, resource.organisation, actor, "resource")
    return resource


def update_prices(resource: Resource, prices: list[Mapping[str, Any]], actor: User | None) -> Resource:
    """Replace the public price table; audited with before and after when anything changed."""
    errors: Errors = {}
    cleaned = clean_prices(prices, errors)
    if errors:
        raise ValidationFailed(_("Some fields are not valid."), errors)
    before = [p.as_dict() for p in resource.prices]
    wanted = {(p["audience"], p["unit"]): p for p in cleaned}
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


def update_booking_policy(resource: Resource, data: Mapping[str, Any], actor: User | None) -> Resource:
    """Cancellation policy and weekly quota; audited (they change what bookers pay and may book)."""
    errors: Errors = {}
    changes = {
        "cancel_free_hours": _int(data, "cancel_free_hours", errors, resource.cancel_free_hours, 0, 24 * 60),
        "late_cancel_fee_percent": _int(data, "late_cancel_fee_percent", errors, resource.late_cancel_fee_percent,
                                        0, 100),
        "quota_minutes_per_week": (None if data.get("quota_minutes_per_week") in (None, "") else
                                   _int(data, "quota_minutes_per_week", errors, None, 1, 7 * 24 * 60)),
    }
    if errors:
        raise ValidationFailed(_("Some fields are not valid."), errors)
    before = {key: getattr(resource, key) for key in changes}
    for key, value in changes.items():
        setattr(resource, key, value)
    db.session.flush()
    if before != changes:
        audit.record("resource.booking_policy_changed", resource, before=before, after=changes,
                     actor_id=actor.id if actor is not None else None)
    return resource


def update_terms(resource: Resource, terms_text: Any, actor: User | None) -> Resource:
    """Replace the IP/NDA terms; a changed text gets a new version, which bookers must accept from then on
    (each booking keeps the version its booker accepted)."""
    errors: Errors = {}
    text = _text({"terms_text": terms_text}, "terms_text", errors, 10000)
    if errors:
        raise ValidationFailed(_("Some fields are not valid."), errors)
    if text != resource.terms_text:
        before = {"terms_version": resource.terms_version, "terms_text": resource.terms_text}
        resource.terms_text = text
        resource.terms_version += 1
        db.session.flush()
        audit.record("resource.terms_changed", resource, before=before,
                     after={"terms_version": resource.terms_version, "terms_text": text},
                     actor_id=actor.id if actor is not None else None)
    return resource
