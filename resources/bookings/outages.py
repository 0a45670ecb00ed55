"""Calendar rules and outages: opening exceptions, blackouts (closures), alternatives, problem reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.mail import send_to_user
from portal.states import LABELS, label_for
from portal.urls import external_url
from resources import availability
from resources.bookings.locking import serialised
from resources.bookings.mail import mail_staff
from resources.bookings.rules import clashes
from resources.models import (
    OPEN_BOOKING_STATUSES,
    Blackout,
    Booking,
    BookingStatus,
    OpeningException,
    ProblemReport,
    Resource,
)
from resources.schemas import NewBlackout, NewException, ProblemIn, ResolveProblem, in_utc

# ---- calendar rules: exceptions, blackouts, outages -----------------------------------------------

def add_exception(resource: Resource, cmd: NewException, actor: User) -> OpeningException:
    """Other hours on one local date, or closed all day."""
    row = OpeningException(resource_id=resource.id, day=cmd.date, opens=cmd.start, closes=cmd.end, note=cmd.note)
    db.session.add(row)
    db.session.flush()
    audit.record("resource.opening_exception", resource, actor_id=actor.id, after=row.as_dict())
    return row


def add_blackout(resource: Resource, cmd: NewBlackout, actor: User) -> tuple[Blackout, list[Booking]]:
    """Close the resource for a period. Bookings in it are cancelled (no fee), their bookers mailed with
    alternatives of the same kind; for an outage that is the point of marking the resource down."""
    start, end = blackout_period(resource, cmd)
    kind, reason = cmd.kind, cmd.reason
    resource_id = resource.id

    def work() -> tuple[Blackout, list[Booking]]:
        target = db.session.get(Resource, resource_id)
        blackout = Blackout(resource_id=target.id, kind=kind, starts_at=start, ends_at=end,
                            reason=reason, created_by_id=actor.id)
        db.session.add(blackout)
        db.session.flush()
        affected = cancel_for_blackout(target, blackout, actor)
        audit.record("resource.blackout_added", target, actor_id=actor.id, after={
            "kind": kind, "start": start.isoformat(), "end": end.isoformat(), "cancelled": [b.id for b in affected]})
        return blackout, affected

    return serialised(resource_id, work)


def blackout_period(resource: Resource, cmd: NewBlackout) -> tuple[datetime, datetime]:
    """The closure's start and end in UTC (times without an offset are the resource's local time)."""
    zone = ZoneInfo(resource.timezone)
    start, end = in_utc(cmd.start, zone), in_utc(cmd.end, zone)
    if end <= start:
        raise ValidationFailed.field("end", _("The end must be after the start (a booking cannot be empty or "
                                              "reversed)."))
    return start, end


def update_exception(row: OpeningException, cmd: NewException, actor: User) -> OpeningException:
    """Change a dated exception (other hours, or closed all day). Bookings already made stay."""
    before = row.as_dict()
    row.day, row.opens, row.closes, row.note = cmd.date, cmd.start, cmd.end, cmd.note
    db.session.flush()
    audit.record("resource.opening_exception_changed", db.session.get(Resource, row.resource_id),
                 actor_id=actor.id, before=before, after=row.as_dict())
    return row


def delete_exception(row: OpeningException, actor: User) -> None:
    """Remove a dated exception: the weekly hours apply to that date again."""
    before = row.as_dict()
    resource = db.session.get(Resource, row.resource_id)
    db.session.delete(row)
    db.session.flush()
    audit.record("resource.opening_exception_deleted", resource, actor_id=actor.id, before=before)


def blackout_dict(blackout: Blackout) -> dict[str, Any]:
    return {"id": blackout.id, "kind": blackout.kind, "start": blackout.starts_at.isoformat(),
            "end": blackout.ends_at.isoformat(), "reason": blackout.reason}


def update_blackout(blackout: Blackout, cmd: NewBlackout, actor: User) -> tuple[Blackout, list[Booking]]:
    """Move, lengthen or shorten a closure. Open bookings the new period covers are cancelled and
    mailed as when adding one; time it no longer covers becomes bookable again."""
    start, end = blackout_period(blackout.resource, cmd)
    kind, reason = cmd.kind, cmd.reason
    blackout_id = blackout.id

    def work() -> tuple[Blackout, list[Booking]]:
        target = db.session.get(Blackout, blackout_id)
        before = blackout_dict(target)
        target.starts_at, target.ends_at, target.kind, target.reason = start, end, kind, reason
        db.session.flush()
        affected = cancel_for_blackout(target.resource, target, actor)
        audit.record("resource.blackout_changed", target.resource, actor_id=actor.id, before=before,
                     after={**blackout_dict(target), "cancelled": [b.id for b in affected]})
        return target, affected

    return serialised(blackout.resource_id, work)


def delete_blackout(blackout: Blackout, actor: User) -> None:
    """Remove a closure: its time is bookable again (bookings it cancelled stay cancelled)."""
    blackout_id, resource_id = blackout.id, blackout.resource_id

    def work() -> None:
        target = db.session.get(Blackout, blackout_id)
        before = blackout_dict(target)
        resource = target.resource
        db.session.delete(target)
        db.session.flush()
        audit.record("resource.blackout_deleted", resource, actor_id=actor.id, before=before)

    serialised(resource_id, work)


def cancel_for_blackout(target: Resource, blackout: Blackout, actor: User) -> list[Booking]:
    """Cancel (no fee) the open bookings inside the blackout; mail each booker, in their language, with
    free alternatives of the same kind."""
    start, end, kind, reason = blackout.starts_at, blackout.ends_at, blackout.kind, blackout.reason
    zone = ZoneInfo(target.timezone)
    affected = [b for b in clashes(target.id, start, end, statuses=OPEN_BOOKING_STATUSES)
                if b.start_at < end and b.end_at > start]
    for booking in affected:
        alternatives = alternatives_for(booking)
        lines = "\n".join(f"- {r.name} ({r.city}): {external_url('resources.calendar', resource_id=r.id)}"
                          for r in alternatives) or _l("(no other resource of this kind is free then)")
        booking.status_reason = _("%(name)s is unavailable (%(kind)s): %(reason)s", name=target.name,
                                  kind=label_for(kind, "BlackoutKind"), reason=reason or "-")[:500]
        before = booking.status
        booking.status, booking.cancelled_at, booking.decided_at = BookingStatus.CANCELLED, utcnow(), utcnow()
        booking.decided_by_id = actor.id
        db.session.flush()
        audit.record("booking.cancelled_by_outage", booking, actor_id=actor.id,
                     before={"status": before}, after={"status": BookingStatus.CANCELLED, "blackout": blackout.id})
        subject = _l("Your booking of %(name)s is cancelled", name=target.name)
        body = _l("%(name)s is unavailable from %(start)s to %(end)s (%(reason)s), so your booking #%(id)d "
                  "is cancelled without a fee. Free alternatives of the same kind at that time:\n%(lines)s",
                  name=target.name, start=start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                  end=end.astimezone(zone).strftime("%Y-%m-%d %H:%M"), reason=reason or LABELS["BlackoutKind"].get(kind, kind),
                  id=booking.id, lines=lines)
        send_to_user(booking.user, lambda subject=subject, body=body: (str(subject), str(body)),
                     kind="booking.decision", link=external_url("resources.my_bookings"))
    return affected


def alternatives_for(booking: Booking, limit: int = 5) -> list[Resource]:
    """Published resources of the same kind that are free for the whole of the booking's time."""
    result = []
    for other in db.session.scalars(select(Resource).where(
            Resource.kind == booking.resource.kind, Resource.id != booking.resource_id,
            Resource.published.is_(True)).order_by(Resource.id).limit(50)):
        free = availability.free_intervals(other, booking.start_at, booking.end_at)
        if any(a <= booking.start_at and booking.end_at <= b for a, b in free):
            result.append(other)
            if len(result) == limit:
                break
    return result


def report_problem(resource: Resource, user: User, cmd: ProblemIn) -> ProblemReport:
    report = ProblemReport(resource_id=resource.id, user_id=user.id, description=cmd.description)
    db.session.add(report)
    db.session.flush()
    mail_staff(resource, _l("Problem reported on %(name)s", name=resource.name),
                _l("%(who)s reports: %(text)s\n%(url)s", who=user.name, text=report.description,
                   url=external_url("resources.detail", resource_id=resource.id)), kind="resource.problem")
    return report


def resolve_problem(report: ProblemReport, actor: User, cmd: ResolveProblem) -> ProblemReport:
    """Staff close a problem report with a note; the note is kept in the audit log (the report's
    history) and mailed to the reporter in their language."""
    note = cmd.note
    if report.resolved_at is not None:
        raise Conflict(_("This report is already resolved."), {"status": ["resolved"]})
    report.resolved_at = utcnow()
    db.session.flush()
    audit.record("resource.problem_resolved", report, actor_id=actor.id,
                 after={"resource_id": report.resource_id, "note": note})
    resource = db.session.get(Resource, report.resource_id)
    subject = _l("Your problem report on %(name)s is resolved", name=resource.name)
    body = _l("You reported: %(text)s\n\nThe company answers: %(note)s\n%(url)s", text=report.description,
              note=note, url=external_url("resources.detail", resource_id=resource.id))
    send_to_user(report.user, lambda: (str(subject), str(body)), kind="resource.problem")
    return report


def problem_notes(reports: list[ProblemReport]) -> dict[int, str]:
    """The resolution notes of `reports` (report id -> note), from their audit events."""
    from portal.audit import AuditEvent

    ids = [str(r.id) for r in reports if r.resolved_at is not None]
    if not ids:
        return {}
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "resource.problem_resolved", AuditEvent.object_type == "ProblemReport",
        AuditEvent.object_id.in_(ids)))
    return {int(e.object_id): (e.after or {}).get("note", "") for e in events}
