"""factory_boy factories for resources. They flush (so ids exist) and never commit."""

from __future__ import annotations

from datetime import time, timedelta

import factory

from portal.db import utcnow
from portal.extensions import db
from resources.models import Booking, OpeningHours, Resource, ResourcePrice
from tests.factories import BaseFactory, OrganisationFactory, UserFactory


class ResourceFactory(BaseFactory):
    class Meta:
        model = Resource

    organisation = factory.SubFactory(OrganisationFactory, kind="company")
    name = factory.Sequence(lambda n: f"Lab {n}")
    kind = "lab"
    description = "A test lab"
    specifications = factory.LazyFunction(lambda: {"Spindle": "20,000 rpm"})
    city = "青岛 Qingdao"
    timezone = "Asia/Shanghai"
    published = True

    @factory.post_generation
    def prices(self, create, extracted, **kwargs):
        """`prices=[("incubatee", "hour", 8000), ...]`; by default one price per audience per hour."""
        rows = extracted if extracted is not None else [
            ("incubatee", "hour", 8000), ("startup", "hour", 15000), ("external", "hour", 30000)]
        for audience, unit, amount in rows:
            self.prices.append(ResourcePrice(audience=audience, unit=unit, amount=amount, currency="CNY"))
        if create:
            db.session.flush()

    @factory.post_generation
    def opening_hours(self, create, extracted, **kwargs):
        """`opening_hours=[(0, "09:00", "18:00")]`; by default Monday to Friday 09:00-18:00."""
        rows = extracted if extracted is not None else [(d, "09:00", "18:00") for d in range(5)]
        for weekday, opens, closes in rows:
            self.opening_hours.append(OpeningHours(weekday=weekday, opens=time.fromisoformat(opens),
                                                   closes=time.fromisoformat(closes)))
        if create:
            db.session.flush()


class ResourcePriceFactory(BaseFactory):
    class Meta:
        model = ResourcePrice

    resource = factory.SubFactory(ResourceFactory, prices=[])
    audience = "startup"
    unit = "use"
    amount = 5000
    currency = "CNY"


class BookingFactory(BaseFactory):
    """A booking written directly (no rules checked): for past bookings and bulk data."""

    class Meta:
        model = Booking

    resource = factory.SubFactory(ResourceFactory)
    user = factory.SubFactory(UserFactory)
    start_at = factory.LazyFunction(lambda: utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=3))
    end_at = factory.LazyAttribute(lambda o: o.start_at + timedelta(hours=2))
    blocked_from = factory.LazyAttribute(lambda o: o.start_at)
    blocked_until = factory.LazyAttribute(lambda o: o.end_at + timedelta(minutes=o.resource.buffer_minutes or 0))
    status = "confirmed"
    audience = "external"
    price_unit = "hour"
    price_amount = 10000
    currency = "CNY"
