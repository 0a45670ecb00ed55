"""Mentoring: mentor profiles, office-hour slots and their bookings, sessions and feedback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Text, cast, func, or_, select, update

from incubation.models import MentorProfile, MentorSlot, Project
from incubation.schemas.mentors import (
    Booking,
    MentorProfileIn,
    NewSlot,
    SessionFeedback,
    SessionNotes,
    SlotCancel,
)
from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.mail import send_to_user
from portal.organisations.services import role_in
from portal.urls import external_url

# ---- mentors ---------------------------------------------------------------------------------

def save_mentor_profile(user: User, command: MentorProfileIn) -> MentorProfile:
    """Create or update the user's mentor profile."""
    profile = mentor_profile_of(user)
    before = None
    if profile is None:
        profile = MentorProfile(user_id=user.id)
        db.session.add(profile)
    else:
        before = {"expertise": profile.expertise, "languages": profile.languages}
    profile.bio = command.bio
    profile.expertise = list(command.expertise)
    profile.industries = list(command.industries)
    profile.languages = list(command.languages)
    profile.organisation = command.organisation
    db.session.flush()
    audit.record("mentor_profile.saved", profile, before=before,
                 after={"expertise": profile.expertise, "languages": profile.languages}, actor_id=user.id)
    return profile


def mentor_profile_of(user: User) -> MentorProfile | None:
    return db.session.scalar(select(MentorProfile).where(MentorProfile.user_id == user.id))


def _json_list_contains(column, term: str):
    """SQL: the JSON list `column` has an item containing `term` (case-insensitive for Latin letters). The
    list is stored as JSON text, non-ASCII letters escaped (\\u4f9b), so the term is looked for as typed
    and as JSON writes it."""
    term = term.strip().casefold()
    escaped = json.dumps(term)[1:-1]
    text = func.lower(cast(column, Text))
    forms = {term, escaped}
    return or_(*(text.contains(form, autoescape=True) for form in sorted(forms)))


def mentors_stmt(expertise: str = "", language: str = ""):
    """Mentors whose expertise / languages contain the given terms, by name; filtered in the database so
    a page of them is one LIMIT (the user with the profile, the photo by its selectin relationship)."""
    from sqlalchemy.orm import contains_eager

    stmt = (select(MentorProfile).join(User).options(contains_eager(MentorProfile.user))
            .order_by(User.name, MentorProfile.id))
    if expertise and expertise.strip():
        stmt = stmt.where(_json_list_contains(MentorProfile.expertise, expertise))
    if language and language.strip():
        stmt = stmt.where(_json_list_contains(MentorProfile.languages, language))
    return stmt


def free_slots_of(profiles: list[MentorProfile], now: datetime | None = None) -> dict[int, list[MentorSlot]]:
    """`free_slots` of a page of mentors in one statement."""
    now = now or utcnow()
    found: dict[int, list[MentorSlot]] = {p.id: [] for p in profiles}
    if profiles:
        for slot in db.session.scalars(select(MentorSlot).where(
                MentorSlot.mentor_profile_id.in_(list(found)), MentorSlot.booked_by_id.is_(None),
                MentorSlot.starts_at > now).order_by(MentorSlot.starts_at)):
            found[slot.mentor_profile_id].append(slot)
    return found


def free_slots(profile: MentorProfile, now: datetime | None = None) -> list[MentorSlot]:
    now = now or utcnow()
    return list(db.session.scalars(select(MentorSlot).where(
        MentorSlot.mentor_profile_id == profile.id, MentorSlot.booked_by_id.is_(None), MentorSlot.starts_at > now)
        .order_by(MentorSlot.starts_at)))


def upcoming_slots(profile: MentorProfile, now: datetime | None = None, limit: int = 10) -> list[MentorSlot]:
    now = now or utcnow()
    return list(db.session.scalars(select(MentorSlot).where(
        MentorSlot.mentor_profile_id == profile.id, MentorSlot.ends_at > now)
        .order_by(MentorSlot.starts_at).limit(limit)))


MAX_REPEAT_WEEKS = 26


def user_zone(user: User) -> ZoneInfo:
    """The zone a user's wall-clock times are in (their setting; Asia/Shanghai when unset or unknown)."""
    try:
        return ZoneInfo(getattr(user, "timezone", None) or "Asia/Shanghai")
    except (ValueError, KeyError):
        return ZoneInfo("Asia/Shanghai")


def add_slot(profile: MentorProfile, command: NewSlot) -> MentorSlot:
    """Offer a slot (the command's end is after its start)."""
    return add_slots(profile, command)[0]


def add_slots(profile: MentorProfile, command: NewSlot, repeat_weeks: int = 1) -> list[MentorSlot]:
    """Offer a slot and its weekly repeats, at the same wall-clock time in the mentor's zone (09:00 stays 09:00
    across a daylight-saving change). All or nothing: every occurrence is checked before any is written, and an
    overlap with one of the mentor's slots refuses the whole request, naming the start and the slot in the way."""
    if not 1 <= repeat_weeks <= MAX_REPEAT_WEEKS:
        raise ValidationFailed.field("repeat_weeks", _("Repeat from 1 to %(n)d weeks.", n=MAX_REPEAT_WEEKS))
    zone = user_zone(profile.user)
    local_start, local_end = command.start.astimezone(zone), command.end.astimezone(zone)
    if repeat_weeks > 1 and command.end - command.start >= timedelta(weeks=1):
        raise ValidationFailed.field("end", _("A weekly office hour must be shorter than a week."))
    wanted = [(datetime.combine(local_start.date() + timedelta(weeks=week), local_start.time(), tzinfo=zone)
               .astimezone(UTC),
               datetime.combine(local_end.date() + timedelta(weeks=week), local_end.time(), tzinfo=zone)
               .astimezone(UTC)) for week in range(repeat_weeks)]
    existing = db.session.scalars(select(MentorSlot).where(
        MentorSlot.mentor_profile_id == profile.id, MentorSlot.starts_at < wanted[-1][1],
        MentorSlot.ends_at > wanted[0][0]).order_by(MentorSlot.starts_at)).all()
    for starts_at, ends_at in wanted:
        clash = next((slot for slot in existing if slot.starts_at < ends_at and slot.ends_at > starts_at), None)
        if clash is not None:
            when = _local_range(clash, zone)
            raise Conflict(
                _("This slot overlaps another of your slots (%(when)s); nothing was added.", when=when),
                {"start": [_("Overlaps your office hour of %(when)s.", when=when)]})
    slots = [MentorSlot(mentor_profile_id=profile.id, starts_at=starts_at, ends_at=ends_at, topic="")
             for starts_at, ends_at in wanted]
    db.session.add_all(slots)
    db.session.flush()
    return slots


def _local_range(slot: MentorSlot, zone: ZoneInfo) -> str:
    start, end = slot.starts_at.astimezone(zone), slot.ends_at.astimezone(zone)
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}" if start.date() == end.date() else \
        f"{start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M}"


def slots_between(profile: MentorProfile, start: datetime, end: datetime) -> list[MentorSlot]:
    """The mentor's slots meeting [start, end) (UTC), booked or not: what the office-hours grid shows."""
    return list(db.session.scalars(select(MentorSlot).where(
        MentorSlot.mentor_profile_id == profile.id, MentorSlot.starts_at < end, MentorSlot.ends_at > start)
        .order_by(MentorSlot.starts_at).limit(500)))


# ---- mentor sessions -------------------------------------------------------------------------

def book_slot(slot: MentorSlot, user: User, command: Booking, project: Project | None = None) -> MentorSlot:
    """Take a free slot. One conditional UPDATE decides, so two concurrent bookings cannot both win.
    `project` is the command's `project_id`, loaded by the caller with its permission."""
    if slot.mentor_profile.user_id == user.id:
        raise ValidationFailed.field("slot", _("You cannot book your own office hours."))
    if project is not None and role_in(user, project.organisation_id) is None and not user.is_admin:
        raise ValidationFailed.field("project_id", _("Choose a project of your own startup."))
    now = utcnow()
    result = db.session.execute(
        update(MentorSlot)
        .where(MentorSlot.id == slot.id, MentorSlot.booked_by_id.is_(None), MentorSlot.starts_at > now)
        .values(booked_by_id=user.id, booked_at=now, topic=command.topic, project_id=project.id if project else None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(slot)
        if slot.booked_by_id is not None:
            raise Conflict(_("This slot is already taken."), {"slot": [_("taken")]})
        raise Conflict(_("This slot is in the past."), {"slot": [_("past")]})
    db.session.refresh(slot)
    audit.record("mentor_slot.booked", slot, after={"booked_by_id": user.id}, actor_id=user.id)
    mentor = slot.mentor_profile.user
    link = external_url("incubation.mentor_session", slot_id=slot.id)
    send_to_user(mentor, lambda: (
        _("Office hour booked: %(topic)s", topic=slot.topic),
        _("%(name)s booked your office hour on %(when)s. Topic: %(topic)s", name=user.name,
          when=_slot_time(slot, mentor), topic=slot.topic)), kind="mentor.session", link=link)
    return slot


DEFAULT_CANCEL_CUTOFF_HOURS = 12


def cancel_cutoff_hours() -> int:
    return int(current_app.config.get("MENTOR_CANCEL_CUTOFF_HOURS", DEFAULT_CANCEL_CUTOFF_HOURS))


def can_cancel_booking(slot: MentorSlot, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return slot.booked_by_id is not None and slot.starts_at - now >= timedelta(hours=cancel_cutoff_hours())


def cancel_booking(slot: MentorSlot, user: User) -> MentorSlot:
    """The founder who booked gives the slot back, up to the cut-off before it starts; the mentor is mailed."""
    if slot.booked_by_id != user.id:
        raise Conflict(_("Only the founder who booked the session can cancel the booking."), {"slot": [_("not yours")]})
    hours = cancel_cutoff_hours()
    if not can_cancel_booking(slot):
        raise Conflict(ngettext("Bookings can be cancelled up to %(num)s hour before the session; write to the "
                                "mentor instead.", "Bookings can be cancelled up to %(num)s hours before the "
                                "session; write to the mentor instead.", hours), {"slot": [_("too late")]})
    topic = slot.topic
    result = db.session.execute(
        update(MentorSlot).where(MentorSlot.id == slot.id, MentorSlot.booked_by_id == user.id)
        .values(booked_by_id=None, booked_at=None, topic="", project_id=None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(_("This booking was already cancelled."), {"slot": [_("free")]})
    db.session.refresh(slot)
    audit.record("mentor_slot.booking_cancelled", slot, before={"booked_by_id": user.id}, actor_id=user.id)
    mentor = slot.mentor_profile.user
    send_to_user(mentor, lambda: (
        _("Office hour cancelled: %(topic)s", topic=topic),
        _("%(name)s cancelled the office hour on %(when)s (topic: %(topic)s). The slot is free again.",
          name=user.name, when=_slot_time(slot, mentor), topic=topic)), kind="mentor.session",
        link=external_url("incubation.mentor_me"))
    return slot


def cancel_slot(slot: MentorSlot, mentor: User, command: SlotCancel) -> None:
    """The mentor withdraws an office-hour slot that has not started; a founder who booked it is mailed."""
    if slot.mentor_profile.user_id != mentor.id:
        raise Conflict(_("Only the mentor can cancel this slot."), {"slot": [_("not yours")]})
    if slot.starts_at <= utcnow():
        raise Conflict(_("This session has already started."), {"slot": [_("past")]})
    booker, topic = slot.booked_by, slot.topic
    reason = command.reason
    audit.record("mentor_slot.cancelled", slot, before={"booked_by_id": slot.booked_by_id,
                                                        "starts_at": slot.starts_at.isoformat()},
                 after={"reason": reason} if reason else None, actor_id=mentor.id)
    if booker is not None:
        send_to_user(booker, lambda: (
            _("Office hour cancelled by %(name)s", name=mentor.name),
            _("%(name)s cancelled the office hour on %(when)s (topic: %(topic)s).", name=mentor.name,
              when=_slot_time(slot, booker), topic=topic)
            + ("\n\n" + _("The reason: %(reason)s", reason=reason) if reason else "")), kind="mentor.session",
            link=external_url("incubation.mentor_index"))
    db.session.delete(slot)
    db.session.flush()


def _slot_time(slot: MentorSlot, reader: User) -> str:
    try:
        zone = ZoneInfo(getattr(reader, "timezone", None) or "Asia/Shanghai")
    except (ValueError, KeyError):
        zone = ZoneInfo("Asia/Shanghai")
    return slot.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def save_session_notes(slot: MentorSlot, command: SessionNotes) -> MentorSlot:
    if slot.booked_by_id is None:
        raise Conflict(_("Nobody booked this slot."))
    slot.notes = command.notes
    db.session.flush()
    return slot


def leave_session_feedback(slot: MentorSlot, user: User, command: SessionFeedback) -> MentorSlot:
    """The founder who booked rates the session once it is over; the mentor's rating follows."""
    if slot.booked_by_id != user.id:
        raise Conflict(_("Only the founder who booked the session can rate it."))
    if slot.ends_at > utcnow():
        raise Conflict(_("Rate the session after it took place."))
    rating = command.rating
    result = db.session.execute(update(MentorSlot).where(MentorSlot.id == slot.id, MentorSlot.rating.is_(None))
                                .values(rating=rating, feedback=command.feedback)
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(_("You already rated this session."))
    db.session.execute(update(MentorProfile).where(MentorProfile.id == slot.mentor_profile_id)
                       .values(rating_sum=MentorProfile.rating_sum + rating,
                               rating_count=MentorProfile.rating_count + 1)
                       .execution_options(synchronize_session=False))
    db.session.refresh(slot)
    db.session.refresh(slot.mentor_profile)
    return slot


def bookings_of(user: User) -> list[MentorSlot]:
    return list(db.session.scalars(select(MentorSlot).where(MentorSlot.booked_by_id == user.id)
                                   .order_by(MentorSlot.starts_at.desc())))
