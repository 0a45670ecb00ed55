"""JSON API of incubation: mentors."""

from flask import abort, jsonify, request
from flask_login import current_user

from incubation import services
from incubation.api.common import bp, mentor_json
from incubation.forms import (
    BookingForm,
    MentorProfileForm,
    SessionFeedbackForm,
    SessionNotesForm,
    SlotCancelForm,
    SlotForm,
)
from incubation.models import MentorProfile, MentorSlot, Project
from portal.api import doc, iso, paginate_list, parse, require_login
from portal.auth.models import Role
from portal.permissions import Permission, load, require_role


@bp.get("/mentors")
@doc("List mentors", auth=False, query={"expertise": "text contained in an expertise",
                                        "language": "language code, e.g. zh or en"})
def mentor_list():
    mentors = services.search_mentors(request.args.get("expertise", ""), request.args.get("language", ""))
    return jsonify(paginate_list(mentors, mentor_json))


@bp.get("/mentors/<int:profile_id>")
@doc("One mentor with their free office-hour slots", auth=False)
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
@doc("Create or update your mentor profile (mentor role)", form=MentorProfileForm)
def mentor_me():
    require_login()
    require_role(Role.MENTOR)
    form = parse(MentorProfileForm)
    profile = services.save_mentor_profile(current_user, bio=form.bio.data, expertise=form.expertise.data,
                                           industries=form.industries.data, languages=form.languages.data,
                                           organisation=form.organisation.data or "")
    return jsonify(mentor_json(profile))


@bp.post("/mentors/me/slots")
@doc("Offer an office-hour slot", form=SlotForm, responses={201: "Created", 409: "Overlaps another slot",
                                                            404: "Create your mentor profile first"})
def mentor_slot_create():
    require_login()
    profile = services.mentor_profile_of(current_user)
    if profile is None:
        abort(404)
    form = parse(SlotForm)
    slot = services.add_slot(profile, form.start.data, form.end.data)
    return jsonify(slot_json(slot, private=True)), 201


@bp.post("/mentor-slots/<int:slot_id>/book")
@doc("Book a free slot; a slot is never taken twice, also under concurrent requests", form=BookingForm,
     responses={201: "Booked", 409: "Taken already or in the past"})
def mentor_slot_book(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.VIEW)
    form = parse(BookingForm)
    project = load(Project, form.project_id.data, Permission.EDIT) if form.project_id.data else None
    services.book_slot(slot, current_user, topic=form.topic.data, project=project)
    return jsonify(slot_json(slot, private=True)), 201


@bp.post("/mentor-slots/<int:slot_id>/cancel-booking")
@doc("Cancel your booking up to the cut-off (MENTOR_CANCEL_CUTOFF_HOURS, 12 h) before the session; the slot "
     "frees and the mentor is mailed (the founder who booked)",
     responses={200: "Cancelled; the free slot", 409: "Too late, or not your booking"})
def mentor_slot_cancel_booking(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.MANAGE)
    services.cancel_booking(slot, current_user)
    return jsonify(slot_json(slot))


@bp.delete("/mentor-slots/<int:slot_id>")
@doc("Cancel an office-hour slot that has not started (the mentor); a founder who booked it is mailed, with "
     "the optional `reason`", form=SlotCancelForm, responses={204: "Cancelled", 409: "Already started"})
def mentor_slot_cancel(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.EDIT)
    form = parse(SlotCancelForm)
    services.cancel_slot(slot, current_user, form.reason.data or "")
    return "", 204


@bp.post("/mentor-slots/<int:slot_id>/notes")
@doc("The mentor's notes on a booked session", form=SessionNotesForm)
def mentor_slot_notes(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.EDIT)
    form = parse(SessionNotesForm)
    services.save_session_notes(slot, form.notes.data)
    return jsonify(slot_json(slot, private=True))


@bp.post("/mentor-slots/<int:slot_id>/feedback")
@doc("Rate a session (1-5) after it took place (the founder who booked it)", form=SessionFeedbackForm,
     responses={201: "Rated", 409: "Not yet over, or rated already"})
def mentor_slot_feedback(slot_id: int):
    require_login()
    slot = load(MentorSlot, slot_id, Permission.MANAGE)
    form = parse(SessionFeedbackForm)
    services.leave_session_feedback(slot, current_user, form.rating.data, form.feedback.data)
    return jsonify(slot_json(slot, private=True)), 201
