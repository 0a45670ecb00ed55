"""JSON API of incubation: mentors."""

from flask import abort, jsonify
from flask_login import current_user

from incubation import services
from incubation.api.common import bp, mentor_json
from incubation.models import MentorProfile, MentorSlot, Project
from incubation.schemas.mentors import (
    Booking,
    MentorOut,
    MentorProfileIn,
    MentorQuery,
    NewSlot,
    SessionFeedback,
    SessionNotes,
    SlotCancel,
    SlotOut,
)
from incubation.services import mentoring
from portal.api import doc, iso, page_args, paged, read_body, read_query, require_login
from portal.auth.models import Role
from portal.paging import page_of
from portal.permissions import Permission, load, require_role


@bp.get("/mentors")
@doc("List mentors", auth=False, query=MentorQuery, response=MentorOut)
def mentor_list():
    args = read_query(MentorQuery)
    found = page_of(mentoring.mentors_stmt(args.expertise, args.language), *page_args(), unique=True)
    slots = mentoring.free_slots_of(found.items)  # one statement for the page
    return jsonify(paged([mentor_json(m, slots[m.id]) for m in found.items], found.total, found.page,
                         found.per_page))


@bp.get("/mentors/<int:profile_id>")
@doc("One mentor with their free office-hour slots", auth=False, response=MentorOut)
def mentor_get(profile_id: int):
    return jsonify(mentor_json(load(MentorProfile, profile_id, Permission.VIEW)))


# ---- mentors ---------------------------------------------------------------------------------

def slot_json(slot: MentorSlot, private: bool = False) -> dict:
    body = {"id": slot.id, "mentor_id": slot.mentor_profile_id, "start": iso(slot.starts_at), "end": iso(slot.ends_at),
            "booked": slot.booked_by_id is not None}
    if private:
        body.update({"booked_by": slot.booked_by.name if slot.booked_by else None, "topic": slot.topic,
                     "project_id": slot.project_id, "notes": slot.notes or None,
                     "feedback": slot.feedback or None, "rating": slot.rating})
    return body


@bp.put("/mentors/me")
@doc("Create or update your mentor profile (mentor role)", body=MentorProfileIn, response=MentorOut)
def mentor_me():
    require_login()
    require_role(Role.MENTOR)
    profile = services.save_mentor_profile(current_user, read_body(MentorProfileIn))
    return jsonify(mentor_json(profile))


@bp.post("/mentors/me/slots")
@doc("Offer an office-hour slot", body=NewSlot, response=SlotOut,
     responses={201: "Created", 409: "Overlaps another slot", 404: "Create your mentor profile first"})
def mentor_slot_create():
    require_login()
    profile = services.mentor_profile_of(current_user)
    if profile is None:
        abort(404)
    slot = services.add_slot(profile, read_body(NewSlot))
    return jsonify(slot_json(slot, private=True)), 201


@bp.post("/mentor-slots/<int:slot_id>/book")
@doc("Book a free slot; a slot is never taken twice, also under concurrent requests", body=Booking,
     response=SlotOut, responses={201: "Booked", 409: "Taken already or in the past"})
def mentor_slot_book(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.VIEW)
    command = read_body(Booking)
    project = load(Project, command.project_id, Permission.EDIT) if command.project_id else None
    services.book_slot(slot, current_user, command, project)
    return jsonify(slot_json(slot, private=True)), 201


@bp.post("/mentor-slots/<int:slot_id>/cancel-booking")
@doc("Cancel your booking up to the cut-off (MENTOR_CANCEL_CUTOFF_HOURS, 12 h) before the session; the slot "
     "frees and the mentor is mailed (the founder who booked)",
     response=SlotOut, responses={200: "Cancelled; the free slot", 409: "Too late, or not your booking"})
def mentor_slot_cancel_booking(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.MANAGE)
    services.cancel_booking(slot, current_user)
    return jsonify(slot_json(slot))


@bp.delete("/mentor-slots/<int:slot_id>")
@doc("Cancel an office-hour slot that has not started (the mentor); a founder who booked it is mailed, with "
     "the optional `reason`", body=SlotCancel, responses={204: "Cancelled", 409: "Already started"})
def mentor_slot_cancel(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.EDIT)
    services.cancel_slot(slot, current_user, read_body(SlotCancel))
    return "", 204


@bp.post("/mentor-slots/<int:slot_id>/notes")
@doc("The mentor's notes on a booked session", body=SessionNotes, response=SlotOut)
def mentor_slot_notes(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.EDIT)
    services.save_session_notes(slot, read_body(SessionNotes))
    return jsonify(slot_json(slot, private=True))


@bp.post("/mentor-slots/<int:slot_id>/feedback")
@doc("Rate a session (1-5) after it took place (the founder who booked it)", body=SessionFeedback,
     response=SlotOut, responses={201: "Rated", 409: "Not yet over, or rated already"})
def mentor_slot_feedback(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.MANAGE)
    services.leave_session_feedback(slot, current_user, read_body(SessionFeedback))
    return jsonify(slot_json(slot, private=True)), 201
