"""Published labs, equipment, workshops and production lines; their bookings and everything around them.

Opening hours are wall-clock times in the resource's own time zone (a lab in Qingdao opens at
09:00 Asia/Shanghai whoever looks at it). Bookings are stored in UTC.

The no-double-booking guarantee lives in the database: every booking stores the interval it
blocks (`blocked_from`, `blocked_until` = its end plus the resource's buffer), and on PostgreSQL an
exclusion constraint (btree_gist) forbids two occupying bookings of one resource whose blocked
intervals overlap. On SQLite the booking unit of work is serialised instead (see
`resources.services.lock_resource`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    column,
    event,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.states import Choice, Status, status_check
from portal.uploads import StoredFile


class ResourceKind(Choice):
    LAB = "lab"
    EQUIPMENT = "equipment"
    WORKSHOP = "workshop"
    PRODUCTION_LINE = "production_line"


class Audience(Choice):
    """Who pays which price: startups in an incubation program, other startups, everyone else."""

    INCUBATEE = "incubatee"
    STARTUP = "startup"
    EXTERNAL = "external"


class PriceUnit(Choice):
    HOUR = "hour"
    USE = "use"


class Resource(db.Model):
    __tablename__ = "resource"
    __table_args__ = (
        status_check(ResourceKind, "kind", name="kind_known"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("min_minutes >= 1 AND max_minutes >= min_minutes", name="duration_range"),
        CheckConstraint("buffer_minutes >= 0", name="buffer_non_negative"),
        CheckConstraint("advance_days >= 1", name="advance_days_positive"),
        CheckConstraint("terms_version >= 1", name="terms_version_positive"),
        # These three PostgreSQL only (added by a later migration; on SQLite that re-creates the table, cascading
        # to its bookings).
        CheckConstraint("cancel_free_hours >= 0", name="cancel_free_hours_non_negative").ddl_if(dialect="postgresql"),
        CheckConstraint("late_cancel_fee_percent BETWEEN 0 AND 100", name="late_cancel_fee_percent_range")
        .ddl_if(dialect="postgresql"),
        CheckConstraint("quota_minutes_per_week IS NULL OR quota_minutes_per_week > 0", name="quota_positive")
        .ddl_if(dialect="postgresql"),
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
    # Cancellation policy: free until this many hours before the start, then a fee of this percent
    # of the booking's price. Quota: booked minutes per startup (or per person) per local week.
    cancel_free_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    late_cancel_fee_percent: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    quota_minutes_per_week: Mapped[int | None] = mapped_column(Integer)
    # Secret of the resource's iCalendar feed (rotated by staff); None until first asked for.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()
    prices: Mapped[list[ResourcePrice]] = relationship(
        back_populates="resource", cascade="all, delete-orphan", order_by="ResourcePrice.id", lazy="selectin")
    opening_hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="resource", cascade="all, delete-orphan",
        order_by=lambda: [OpeningHours.weekday, OpeningHours.opens], lazy="selectin")
    photos: Mapped[list[ResourcePhoto]] = relationship(
        back_populates="resource", cascade="all, delete-orphan", order_by="ResourcePhoto.id", lazy="selectin")

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
        status_check(Audience, "audience", name="audience_known"),
        status_check(PriceUnit, "unit", name="unit_known"),
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


class OpeningException(db.Model):
    """A dated change to the weekly rules (local date of the resource): the rows of a date replace the
    weekly hours of that date; a row without times closes the resource that day (a holiday)."""

    __tablename__ = "opening_exception"
    __table_args__ = (
        CheckConstraint("(opens IS NULL AND closes IS NULL) OR (opens IS NOT NULL AND closes IS NOT NULL "
                        "AND opens < closes)", name="times_consistent"),
        Index("ix_opening_exception_resource_day", "resource_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    opens: Mapped[time | None] = mapped_column(Time)
    closes: Mapped[time | None] = mapped_column(Time)
    note: Mapped[str] = mapped_column(String(255), default="")

    @property
    def closed(self) -> bool:
        return self.opens is None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "date": self.day.isoformat(), "closed": self.closed,
                "start": self.opens.strftime("%H:%M") if self.opens else None,
                "end": self.closes.strftime("%H:%M") if self.closes else None, "note": self.note}


class BlackoutKind(Choice):
    BLACKOUT = "blackout"
    MAINTENANCE = "maintenance"
    OUTAGE = "outage"


class Blackout(db.Model):
    """A period the resource cannot be booked: planned closure, maintenance, or an outage (it is down)."""

    __tablename__ = "resource_blackout"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        status_check(BlackoutKind, "kind", name="kind_known"),
        Index("ix_resource_blackout_resource_ends", "resource_id", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), default=BlackoutKind.BLACKOUT)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    resource: Mapped[Resource] = relationship()


class ResourcePhoto(db.Model):
    __tablename__ = "resource_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"), index=True)
    caption: Mapped[str] = mapped_column(String(255), default="")

    resource: Mapped[Resource] = relationship(back_populates="photos")
    stored_file: Mapped[StoredFile] = relationship(lazy="selectin")


class BookingStatus(Status):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    NO_SHOW = "no_show"


# Statuses that hold the slot: the exclusion constraint covers exactly these. Pending requests
# (resources with approval) do not: several may ask for one slot, staff approve one of them.
OCCUPYING_BOOKING_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
OPEN_BOOKING_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)  # still changeable
BOOKING_TRANSITIONS: dict[BookingStatus, tuple[BookingStatus, ...]] = {
    BookingStatus.PENDING: (BookingStatus.CONFIRMED, BookingStatus.REJECTED, BookingStatus.CANCELLED),
    BookingStatus.CONFIRMED: (BookingStatus.COMPLETED, BookingStatus.CANCELLED, BookingStatus.NO_SHOW),
}


class Booking(db.Model):
    __tablename__ = "booking"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="ends_after_starts"),
        CheckConstraint("blocked_from <= start_at AND blocked_until >= end_at", name="blocked_covers_booking"),
        status_check(BookingStatus, "status", name="status_known"),
        # PostgreSQL only (added later; on SQLite that re-creates the table, cascading to its reviews).
        status_check(Audience, "audience", name="audience_known").ddl_if(dialect="postgresql"),
        status_check(PriceUnit, "price_unit", name="price_unit_known").ddl_if(dialect="postgresql"),
        CheckConstraint("price_amount >= 0 AND cancel_fee_amount >= 0", name="amounts_non_negative"),
        CheckConstraint("credit_amount >= 0 AND credit_amount <= price_amount", name="credit_within_price"),
        # Availability reads only the window asked for: bookings ending after its start.
        Index("ix_booking_resource_blocked_until", "resource_id", "blocked_until"),
        Index("ix_booking_organisation_start", "organisation_id", "start_at"),
        postgresql.ExcludeConstraint(
            (column("resource_id"), "="),
            (func.tstzrange(column("blocked_from"), column("blocked_until"), literal_column("'[)'")), "&&"),
            using="gist", name="booking_no_overlap",
            where=text("status IN (" + ", ".join(f"'{s}'" for s in OCCUPYING_BOOKING_STATUSES) + ")"),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_from: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default=BookingStatus.PENDING, index=True)
    purpose: Mapped[str] = mapped_column(Text, default="")
    # The price at booking time, from the public table: audience and unit it was computed with.
    audience: Mapped[str] = mapped_column(String(20))
    price_unit: Mapped[str | None] = mapped_column(String(10))
    price_amount: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    cancel_fee_amount: Mapped[int] = mapped_column(Integer, default=0)
    # Open-source resource credits drawn by this booking (never more than the price); set back to 0 when the
    # booking is cancelled or rejected, which gives the credit back (see resources.bookings.take_credit).
    credit_amount: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    terms_version: Mapped[int | None] = mapped_column(Integer)  # the IP/NDA terms version accepted
    series_key: Mapped[str | None] = mapped_column(String(32), index=True)  # a weekly series
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    resource: Mapped[Resource] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation | None] = relationship()

    @property
    def minutes(self) -> int:
        return int((self.end_at - self.start_at).total_seconds() // 60)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_BOOKING_STATUSES

    @property
    def amount_due(self) -> int:
        """The price less the credits drawn: what the organisation pays."""
        return self.price_amount - (self.credit_amount or 0)

    def __repr__(self) -> str:
        return f"<Booking {self.id} {self.status} {self.start_at:%Y-%m-%d %H:%M}>"


# The exclusion constraint needs btree_gist for the `=` on an integer column inside a GiST index.
event.listen(Booking.__table__, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS btree_gist").execute_if(dialect="postgresql"))


class WaitlistStatus(Status):
    WAITING = "waiting"
    PROMOTED = "promoted"
    WITHDRAWN = "withdrawn"


class WaitlistEntry(db.Model):
    """Someone who wants a taken slot; promoted to a booking, first come first served, when it frees."""

    __tablename__ = "booking_waitlist"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="ends_after_starts"),
        status_check(WaitlistStatus, "status", name="status_known"),
        Index("ix_booking_waitlist_resource_status", "resource_id", "status", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    purpose: Mapped[str] = mapped_column(Text, default="")
    terms_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=WaitlistStatus.WAITING)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    resource: Mapped[Resource] = relationship()
    user: Mapped[User] = relationship()


class Qualification(db.Model):
    """Company staff certified `user` to use `resource` (until `expires_at`, if set)."""

    __tablename__ = "resource_qualification"
    __table_args__ = (UniqueConstraint("resource_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def valid_at(self, moment: datetime) -> bool:
        return self.expires_at is None or self.expires_at > moment


class TrainingStatus(Status):
    OPEN = "open"
    GRANTED = "granted"
    DECLINED = "declined"


class TrainingRequest(db.Model):
    __tablename__ = "resource_training_request"
    __table_args__ = (status_check(TrainingStatus, "status", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=TrainingStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    resource: Mapped[Resource] = relationship()
    user: Mapped[User] = relationship()


class Review(db.Model):
    """The booker's rating of a completed booking (one per booking)."""

    __tablename__ = "resource_review"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"), unique=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()


class ProblemReport(db.Model):
    """A user's report that something is wrong with a resource; staff may then mark it down."""

    __tablename__ = "resource_problem_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User | None] = relationship()


class BookingCalendar(db.Model):
    """The secret token of a user's personal iCalendar feed of bookings."""

    __tablename__ = "booking_calendar"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
