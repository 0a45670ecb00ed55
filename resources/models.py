"""Published labs, equipment, workshops and production lines, with public prices and opening hours.

Opening hours are wall-clock times in the resource's own time zone (a lab in Qingdao opens at
09:00 Asia/Shanghai whoever looks at it). Bookings, availability and the no-overlap exclusion
constraint are added by the booking work on top of `Resource`.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.organisations.models import Organisation


class ResourceKind:
    LAB = "lab"
    EQUIPMENT = "equipment"
    WORKSHOP = "workshop"
    PRODUCTION_LINE = "production_line"
    ALL = (LAB, EQUIPMENT, WORKSHOP, PRODUCTION_LINE)


class Audience:
    """Who pays which price: startups in an incubation program, other startups, everyone else."""

    INCUBATEE = "incubatee"
    STARTUP = "startup"
    EXTERNAL = "external"
    ALL = (INCUBATEE, STARTUP, EXTERNAL)


class PriceUnit:
    HOUR = "hour"
    USE = "use"
    ALL = (HOUR, USE)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Resource(db.Model):
    __tablename__ = "resource"
    __table_args__ = (
        CheckConstraint(_in("kind", ResourceKind.ALL), name="kind_known"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("min_minutes >= 1 AND max_minutes >= min_minutes", name="duration_range"),
        CheckConstraint("buffer_minutes >= 0", name="buffer_non_negative"),
        CheckConstraint("advance_days >= 1", name="advance_days_positive"),
        CheckConstraint("terms_version >= 1", name="terms_version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    specifications: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    city: Mapped[str] = mapped_column(String(80), default="", index=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    # Booking rules, read by the booking work: duration bounds, gap kept free after each booking,
    # how far ahead one may book.
    min_minutes: Mapped[int] = mapped_column(Integer, default=30)
    max_minutes: Mapped[int] = mapped_column(Integer, default=480)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    advance_days: Mapped[int] = mapped_column(Integer, default=60)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_qualification: Mapped[bool] = mapped_column(Boolean, default=False)
    # IP/NDA terms a booker accepts; the version is stored on each booking, so bump it on change.
    terms_text: Mapped[str] = mapped_column(Text, default="")
    terms_version: Mapped[int] = mapped_column(Integer, default=1)
    published: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()
    prices: Mapped[list[ResourcePrice]] = relationship(
        back_populates="resource", cascade="all, delete-orphan", order_by="ResourcePrice.id", lazy="selectin")
    opening_hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="resource", cascade="all, delete-orphan",
        order_by=lambda: [OpeningHours.weekday, OpeningHours.opens], lazy="selectin")

    def price_for(self, audience: str, unit: str) -> ResourcePrice | None:
        return next((p for p in self.prices if p.audience == audience and p.unit == unit), None)

    @property
    def lowest_price(self) -> ResourcePrice | None:
        """The cheapest price on offer, per-hour prices first (what the index cards show)."""
        if not self.prices:
            return None
        return min(self.prices, key=lambda p: (p.unit != PriceUnit.HOUR, p.amount))

    def hours_on(self, weekday: int) -> list[OpeningHours]:
        return [h for h in self.opening_hours if h.weekday == weekday]

    def __repr__(self) -> str:
        return f"<Resource {self.id} {self.name!r}>"


class ResourcePrice(db.Model):
    """A public price, in integer minor units (fen for CNY), per audience and unit."""

    __tablename__ = "resource_price"
    __table_args__ = (
        UniqueConstraint("resource_id", "audience", "unit"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint(_in("audience", Audience.ALL), name="audience_known"),
        CheckConstraint(_in("unit", PriceUnit.ALL), name="unit_known"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    audience: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")

    resource: Mapped[Resource] = relationship(back_populates="prices")

    def as_dict(self) -> dict[str, Any]:
        return {"audience": self.audience, "unit": self.unit, "amount": self.amount, "currency": self.currency}


class OpeningHours(db.Model):
    """One opening interval on a weekday (Monday=0), local time of the resource; a weekday may have several."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("opens < closes", name="opens_before_closes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)

    resource: Mapped[Resource] = relationship(back_populates="opening_hours")

    def as_dict(self) -> dict[str, Any]:
        return {"weekday": self.weekday, "start": self.opens.strftime("%H:%M"), "end": self.closes.strftime("%H:%M")}
