"""HTML pages of incubation: mentors."""


from datetime import UTC, date, datetime, time

from flask import abort, jsonify, redirect, render_template, request, url_for
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
from incubation.services import mentoring
from incubation.views.common import bp, form_failed, run_action
from portal import images
from portal.auth.forms import EmptyForm
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from portal.permissions import Permission, load, require_role
from portal.schemas import from_form

# ---- mentors ---------------------------------------------------------------------------------

@bp.get("/mentors/")
def mentor_index():
    form = MentorFilterForm(request.args)
    page = None
    if form.validate():
        page = db.paginate(mentoring.mentors_stmt(form.expertise.data or "", form.language.data or ""),
                           page=request.args.get("page", 1, type=int), per_page=MENTORS_PER_PAGE, error_out=False)
    return render_template("incubation/mentor_index.html", form=form, mentors=page.items if page else [], page=page)


MENTORS_PER_PAGE = 24


@bp.get("/mentors/<int:profile_id>")
def mentor_detail(profile_id: int):
    profile = load(MentorProfile, profile_id, Permission.VIEW)
    own_projects = services.projects_of(current_user) if current_user.is_authenticated else []
    return render_template("incubation/mentor_detail.html", profile=profile, slots=services.free_slots(profile),
                           booking_form=EmptyForm(), own_projects=own_projects)


@bp.post("/mentors/me/avatar")
@login_required
def mentor_avatar():
    """Upload (or remove) the mentor's photo, shown on the mentors list and the profile."""
    require_role(Role.MENTOR)
    profile = services.mentor_profile_of(current_user)
    if profile is None:
        abort(404)
    if not images.AvatarForm().validate_on_submit():
        abort(400)
    images.replace_from_form(profile, "avatar_id", field="avatar", label=_("Photo"), action="mentor.avatar_set",
                             saved=_("Photo saved."), removed=_("Photo removed."))
    return redirect(url_for("incubation.mentor_me") + "#avatar")


# ---- mentors: profile, slots, booking, sessions ----------------------------------------------

def _office_hours_config(slot_form: SlotForm) -> dict:
    """What portal/static/js/calendar.js needs to draw the office-hours grid (in the mentor's own zone)."""
    zone = mentoring.user_zone(current_user)
    anchor = slot_form.start.data.astimezone(zone).date() if slot_form.start.data else utcnow().astimezone(zone).date()
    return {"kind": "office-hours", "eventsUrl": url_for("incubation.mentor_slot_feed"),
            "initialDate": anchor.isoformat(), "step": 15, "slot": 30, "maxWeeks": mentoring.MAX_REPEAT_WEEKS,
            "now": utcnow().astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
            "slotMinTime": "07:00:00", "slotMaxTime": "22:00:00",
            "labels": {"newSlot": _("New office hour"),
                       "single": _("Selected: %(when)s. Press Add slot to offer it."),
                       "repeats": _("Selected: %(when)s, every week for %(n)s weeks. Press Add slot to offer them.")},
            "buttons": {"prev": f"‹ {_('Previous')}", "next": f"{_('Next')} ›", "today": _("Today"), "week": _("Week"),
                        "day": _("Day")}}


def _mentor_page(form: MentorProfileForm, slot_form: SlotForm | None = None, status: int = 200):
    profile = services.mentor_profile_of(current_user)
    slots = services.upcoming_slots(profile, limit=50) if profile else []
    slot_form = slot_form or SlotForm(formdata=None)
    return render_template("incubation/mentor_me.html", form=form, profile=profile, slots=slots,
                           slot_form=slot_form, cancel_form=SlotCancelForm(), now=utcnow(),
                           office_hours_config=_office_hours_config(slot_form), zone=mentoring.user_zone(current_user)
                           ), status


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
    return _mentor_page(form)


@bp.post("/mentors/me/slots")
@login_required
def mentor_slot_create():
    """One office hour, or the same hour every week for `repeat_weeks` weeks (all or nothing). A refusal shows
    the page again with the times typed or painted still in the form and their week on the grid."""
    profile = services.mentor_profile_of(current_user)
    if profile is None:
        abort(404)
    form = SlotForm()
    if not form.validate_on_submit():
        form_failed(form)
        return _mentor_page(MentorProfileForm(obj=profile, formdata=None), form, 400)
    weeks = form.repeat_weeks.data or 1
    if run_action(lambda: mentoring.add_slots(profile, from_form(NewSlot, form), weeks),
                  _("Slot added.") if weeks == 1 else _("%(n)d weekly slots added.", n=weeks), form):
        return redirect(url_for("incubation.mentor_me"))
    return _mentor_page(MentorProfileForm(obj=profile, formdata=None), form, 409)


@bp.get("/mentors/me/slots/feed")
@login_required
def mentor_slot_feed():
    """The office-hours grid's events between two local dates of the mentor: their slots, booked or free."""
    require_role(Role.MENTOR)
    profile = services.mentor_profile_of(current_user)
    if profile is None:
        return jsonify([])
    zone = mentoring.user_zone(current_user)
    try:
        first = date.fromisoformat((request.args.get("start") or "")[:10])
        last = date.fromisoformat((request.args.get("end") or "")[:10])
    except ValueError:
        abort(400)
    if not 0 < (last - first).days <= 62:
        abort(400)
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last, time(0), tzinfo=zone).astimezone(UTC)

    def wall(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:00")

    events = []
    for slot in mentoring.slots_between(profile, start, end):
        booked = slot.booked_by is not None
        events.append({"start": wall(slot.starts_at), "end": wall(slot.ends_at),
                       "title": _("Booked: %(name)s", name=slot.booked_by.name) if booked else _("Free"),
                       "classNames": ["cal-booking", "cal-mine" if booked else "cal-free-slot"],
                       "extendedProps": {"url": url_for("incubation.mentor_session", slot_id=slot.id)} if booked
                       else {}})
    return jsonify(events)


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
