"""HTML pages of incubation: mentors."""


from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from incubation import services
from incubation.forms import (
    BookingPageForm,
    MentorFilterForm,
    MentorProfileForm,
    SessionFeedbackForm,
    SessionNotesForm,
    SlotCancelForm,
    SlotForm,
)
from incubation.models import MentorProfile, MentorSlot, Project
from incubation.schemas.mentors import (
    Booking,
    MentorProfileIn,
    NewSlot,
    SessionFeedback,
    SessionNotes,
    SlotCancel,
)
from incubation.views.common import bp, form_failed, run_action
from portal.auth.forms import EmptyForm
from portal.auth.models import Role
from portal.db import utcnow
from portal.permissions import Permission, load, require_role
from portal.schemas import from_form

# ---- mentors ---------------------------------------------------------------------------------

@bp.get("/mentors/")
def mentor_index():
    form = MentorFilterForm(request.args)
    mentors = services.search_mentors(form.expertise.data or "", form.language.data or "") if form.validate() else []
    return render_template("incubation/mentor_index.html", form=form, mentors=mentors)


@bp.get("/mentors/<int:profile_id>")
def mentor_detail(profile_id: int):
    profile = load(MentorProfile, profile_id, Permission.VIEW)
    own_projects = services.projects_of(current_user) if current_user.is_authenticated else []
    return render_template("incubation/mentor_detail.html", profile=profile, slots=services.free_slots(profile),
                           booking_form=EmptyForm(), own_projects=own_projects)


# ---- mentors: profile, slots, booking, sessions ----------------------------------------------

@bp.route("/mentors/me", methods=["GET", "POST"])
@login_required
def mentor_me():
    require_role(Role.MENTOR)
    profile = services.mentor_profile_of(current_user)
    form = MentorProfileForm(obj=profile) if request.method == "GET" else MentorProfileForm()
    if form.validate_on_submit():
        if run_action(lambda: services.save_mentor_profile(current_user, from_form(MentorProfileIn, form)),
                      _("Mentor profile saved."), form):
            return redirect(url_for("incubation.mentor_me"))
    slots = services.upcoming_slots(profile, limit=50) if profile else []
    return render_template("incubation/mentor_me.html", form=form, profile=profile, slots=slots,
                           slot_form=SlotForm(), cancel_form=SlotCancelForm(), now=utcnow())


@bp.post("/mentors/me/slots")
@login_required
def mentor_slot_create():
    profile = services.mentor_profile_of(current_user)
    if profile is None:
        abort(404)
    form = SlotForm()
    if form.validate_on_submit():
        run_action(lambda: services.add_slot(profile, from_form(NewSlot, form)), _("Slot added."))
    else:
        form_failed(form)
    return redirect(url_for("incubation.mentor_me"))


@bp.post("/mentor-slots/<int:slot_id>/book")
@login_required
def mentor_slot_book(slot_id: int):
    slot = load(MentorSlot, slot_id, Permission.VIEW)
    form = BookingPageForm()
    form.project_id.choices = [(None, "")] + [(p.id, p.title) for p in services.projects_of(current_user)]
    if form.validate_on_submit():
        project = load(Project, form.project_id.data, Permission.EDIT) if form.project_id.data else None
        if run_action(lambda: services.book_slot(slot, current_user, from_form(Booking, form), project),
                _("Booked. The mentor has been told.")):
            return redirect(url_for("incubation.mentor_session", slot_id=slot.id))
    else:
        form_failed(form)
    return redirect(url_for("incubation.mentor_detail", profile_id=slot.mentor_profile_id))


@bp.post("/mentor-slots/<int:slot_id>/cancel-booking")
@login_required
def mentor_slot_cancel_booking(slot_id: int):
    slot = load(MentorSlot, slot_id, Permission.MANAGE)
    if EmptyForm().validate_on_submit() and run_action(lambda: services.cancel_booking(slot, current_user),
                                                  _("Booking cancelled. The mentor has been told.")):
        return redirect(url_for("incubation.mentor_detail", profile_id=slot.mentor_profile_id))
    return redirect(url_for("incubation.mentor_session", slot_id=slot.id))


@bp.post("/mentor-slots/<int:slot_id>/cancel")
@login_required
def mentor_slot_cancel(slot_id: int):
    slot = load(MentorSlot, slot_id, Permission.EDIT)
    form = SlotCancelForm()
    if form.validate_on_submit():
        run_action(lambda: services.cancel_slot(slot, current_user, from_form(SlotCancel, form)), _("Slot cancelled."))
    else:
        form_failed(form)
    return redirect(url_for("incubation.mentor_me"))


@bp.route("/mentor-slots/<int:slot_id>", methods=["GET", "POST"])
@login_required
def mentor_session(slot_id: int):
    slot = load(MentorSlot, slot_id, Permission.MANAGE)
    is_mentor = slot.mentor_profile.user_id == current_user.id
    notes_form = SessionNotesForm(notes=slot.notes)
    feedback_form = SessionFeedbackForm()
    if request.method == "POST":
        if request.form.get("action") == "notes" and is_mentor and notes_form.validate_on_submit():
            run_action(lambda: services.save_session_notes(slot, from_form(SessionNotes, notes_form)), _("Notes saved."))
        elif request.form.get("action") == "feedback" and feedback_form.validate_on_submit():
            run_action(lambda: services.leave_session_feedback(slot, current_user,
                                                               from_form(SessionFeedback, feedback_form)),
                       _("Thanks for the feedback."))
        else:
            form_failed(notes_form if request.form.get("action") == "notes" else feedback_form)
        return redirect(url_for("incubation.mentor_session", slot_id=slot.id))
    return render_template("incubation/mentor_session.html", slot=slot, is_mentor=is_mentor, notes_form=notes_form,
                           feedback_form=feedback_form, over=slot.ends_at <= utcnow(), action_form=EmptyForm(),
                           cancel_form=SlotCancelForm(), can_cancel=services.can_cancel_booking(slot),
                           cutoff_hours=services.cancel_cutoff_hours(), started=slot.starts_at <= utcnow())
