"""HTML pages of resources: staff."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.db import utcnow
from portal.errors import PortalError, ValidationFailed
from portal.extensions import db
from portal.forms import attach_errors
from portal.permissions import Permission, load
from portal.schemas import from_form
from resources import availability, bookings, services
from resources.forms import (
    BLACKOUT_KIND_LABELS,
    BlackoutForm,
    BookingPolicyForm,
    CalendarFeedForm,
    DeclineTrainingForm,
    ExceptionForm,
    PhotoForm,
    ProblemForm,
    QualificationForm,
    ResolveProblemForm,
    TermsForm,
    TrainingRequestForm,
)
from resources.models import (
    OPEN_BOOKING_STATUSES,
    Blackout,
    Booking,
    OpeningException,
    ProblemReport,
    Qualification,
    Resource,
    ResourcePhoto,
    TrainingRequest,
)
from resources.schemas import (
    BookingPolicy,
    CalendarRotation,
    DeclineTraining,
    NewBlackout,
    NewException,
    NewPhoto,
    NewQualification,
    ProblemIn,
    ResolveProblem,
    Terms,
    TrainingRequestIn,
)
from resources.views.common import bp

# ---- staff tools -------------------------------------------------------------------------------------

@bp.route("/<int:resource_id>/manage", methods=["GET", "POST"])
@login_required
@bookings.serialised_write
def manage(resource_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    forms = {"blackout": BlackoutForm(prefix="blackout"), "exception": ExceptionForm(prefix="exception"),
             "qualification": QualificationForm(prefix="qualification"),
             "policy": BookingPolicyForm(prefix="policy", obj=resource),
             "terms": TermsForm(prefix="terms", obj=resource)}
    action = request.form.get("action")
    if request.method == "POST" and action in forms and forms[action].validate():
        form = forms[action]
        try:
            if action == "blackout":
                _blackout, cancelled = bookings.add_blackout(resource, from_form(NewBlackout, form), current_user)
                flash(_("Saved. %(n)d booking(s) cancelled and notified.", n=len(cancelled)), "success")
            elif action == "exception":
                bookings.add_exception(resource, from_form(NewException, form), current_user)
                flash(_("Saved."), "success")
            elif action == "qualification":
                qualification = bookings.grant_qualification(resource, from_form(NewQualification, form),
                                                             current_user)
                flash(_("%(name)s is qualified.", name=qualification.user.name), "success")
            elif action == "terms":
                services.update_terms(resource, from_form(Terms, form), current_user)
                flash(_("Saved."), "success")
            else:
                services.update_booking_policy(resource, from_form(BookingPolicy, form), current_user)
                flash(_("Saved."), "success")
        except PortalError as error:
            db.session.rollback()
            attach_errors(form, error)
            flash(error.message, "danger")
        else:
            return redirect(url_for("resources.manage", resource_id=resource.id))
    return _manage_page(resource, forms)


def _manage_page(resource: Resource, forms: dict, status: int = 200):
    now = utcnow()
    upcoming = db.session.scalars(select(Booking).where(
        Booking.resource_id == resource.id, Booking.end_at > now - timedelta(days=7),
        Booking.status.in_(OPEN_BOOKING_STATUSES)).order_by(Booking.start_at).limit(100)).all()
    trainings = db.session.scalars(select(TrainingRequest).where(
        TrainingRequest.resource_id == resource.id, TrainingRequest.status == "open")).all()
    problems = db.session.scalars(select(ProblemReport).where(ProblemReport.resource_id == resource.id)
                                  .order_by(ProblemReport.id.desc()).limit(20)).all()
    qualifications = db.session.scalars(select(Qualification).where(Qualification.resource_id == resource.id)).all()
    exceptions = db.session.scalars(select(OpeningException).where(
        OpeningException.resource_id == resource.id, OpeningException.day >= now.date() - timedelta(days=1))
        .order_by(OpeningException.day)).all()
    blackouts = availability.blackouts_in(resource.id, now, now + timedelta(days=365))
    feed_url = (url_for("resources_api.resource_calendar_feed", resource_id=resource.id,
                        token=resource.calendar_token, _external=True) if resource.calendar_token else None)
    return render_template("resources/manage.html", resource=resource, forms=forms, upcoming=upcoming,
                           trainings=trainings, problems=problems, problem_notes=bookings.problem_notes(problems),
                           qualifications=qualifications, exceptions=exceptions, blackouts=blackouts,
                           feed_url=feed_url, now=now, zone=ZoneInfo(resource.timezone),
                           blackout_kinds=BLACKOUT_KIND_LABELS), status


def _staff_forms(resource: Resource) -> dict:
    return {"blackout": BlackoutForm(prefix="blackout", formdata=None),
            "exception": ExceptionForm(prefix="exception", formdata=None),
            "qualification": QualificationForm(prefix="qualification", formdata=None),
            "policy": BookingPolicyForm(prefix="policy", obj=resource, formdata=None),
            "terms": TermsForm(prefix="terms", obj=resource, formdata=None)}


def _staff_error(resource: Resource, error: PortalError):
    """A staff action broke a rule: nothing written, the manage page again with the reason (400/409)."""
    db.session.rollback()
    details = "; ".join(f"{name}: {' '.join(str(m) for m in messages)}" for name, messages in error.fields.items())
    flash(f"{error.message} {details}".strip(), "danger")
    return _manage_page(db.session.get(Resource, resource.id), _staff_forms(resource), status=error.status)


def _child(model, child_id: int, resource: Resource):
    row = db.session.get(model, child_id)
    if row is None or row.resource_id != resource.id:
        abort(404)
    return row


@bp.post("/<int:resource_id>/exceptions/<int:exception_id>")
@login_required
def exception_edit(resource_id: int, exception_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    row = _child(OpeningException, exception_id, resource)
    try:
        if request.form.get("action") == "delete":
            bookings.delete_exception(row, current_user)
            flash(_("Exception removed: the weekly hours apply that day."), "success")
        else:
            form = ExceptionForm()
            if not form.validate():
                raise ValidationFailed(_("Some fields are not valid."), form.errors)
            bookings.update_exception(row, from_form(NewException, form), current_user)
            flash(_("Saved."), "success")
    except PortalError as error:
        return _staff_error(resource, error)
    return redirect(url_for("resources.manage", resource_id=resource.id))


@bp.post("/<int:resource_id>/blackouts/<int:blackout_id>")
@login_required
@bookings.serialised_write
def blackout_edit(resource_id: int, blackout_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    row = _child(Blackout, blackout_id, resource)
    try:
        if request.form.get("action") == "delete":
            bookings.delete_blackout(row, current_user)
            flash(_("Closure removed: the time is bookable again."), "success")
        else:
            form = BlackoutForm()
            if not form.validate():
                raise ValidationFailed(_("Some fields are not valid."), form.errors)
            _row, cancelled = bookings.update_blackout(row, from_form(NewBlackout, form), current_user)
            flash(_("Saved. %(n)d booking(s) cancelled and notified.", n=len(cancelled)), "success")
    except PortalError as error:
        return _staff_error(resource, error)
    return redirect(url_for("resources.manage", resource_id=resource.id))


@bp.post("/<int:resource_id>/problems/<int:report_id>/resolve")
@login_required
def problem_resolve(resource_id: int, report_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    report = _child(ProblemReport, report_id, resource)
    form = ResolveProblemForm()
    try:
        if not form.validate():
            raise ValidationFailed(_("Say what was done (the reporter is told)."), form.errors)
        bookings.resolve_problem(report, current_user, from_form(ResolveProblem, form))
    except PortalError as error:
        return _staff_error(resource, error)
    flash(_("Resolved; the reporter has been told."), "success")
    return redirect(url_for("resources.manage", resource_id=resource.id))


@bp.post("/<int:resource_id>/training/<int:request_id>/decline")
@login_required
def training_decline(resource_id: int, request_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    training = _child(TrainingRequest, request_id, resource)
    form = DeclineTrainingForm()
    try:
        if not form.validate():
            raise ValidationFailed(_("Give a reason (the requester is told)."), form.errors)
        bookings.decline_training(training, current_user, from_form(DeclineTraining, form))
    except PortalError as error:
        return _staff_error(resource, error)
    flash(_("Training request declined; %(name)s has been told.", name=training.user.name), "success")
    return redirect(url_for("resources.manage", resource_id=resource.id))


@bp.post("/<int:resource_id>/calendar-feed")
@login_required
def resource_calendar_feed(resource_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    bookings.resource_calendar_token(resource, rotate=from_form(CalendarRotation, CalendarFeedForm()).rotate)
    flash(_("The calendar feed address is ready."), "success")
    return redirect(url_for("resources.manage", resource_id=resource.id))


@bp.post("/<int:resource_id>/photos")
@login_required
def photo_upload(resource_id: int):
    from portal.uploads import IMAGES, store_upload

    resource = load(Resource, resource_id, Permission.EDIT)
    form = PhotoForm()
    if not form.validate():
        raise ValidationFailed(_("Some fields are not valid."), form.errors)
    stored = store_upload(request.files.get("photo"), field="photo", kinds=IMAGES, max_bytes=5 * 1024 * 1024,
                          uploaded_by_id=current_user.id)
    services.add_photo(resource, stored.id, from_form(NewPhoto, form))
    flash(_("Photo added."), "success")
    return redirect(url_for("resources.manage", resource_id=resource.id))


@bp.get("/<int:resource_id>/photos/<int:photo_id>")
def photo(resource_id: int, photo_id: int):
    from portal.uploads import StoredFile, send_stored

    resource = load(Resource, resource_id, Permission.VIEW)
    row = db.session.get(ResourcePhoto, photo_id)
    if row is None or row.resource_id != resource.id:
        abort(404)
    return send_stored(db.session.get(StoredFile, row.stored_file_id), as_attachment=False)


@bp.post("/<int:resource_id>/problems")
@login_required
def problem(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    form = ProblemForm()
    if not form.validate():
        raise ValidationFailed(_("Some fields are not valid."), form.errors)
    bookings.report_problem(resource, current_user, from_form(ProblemIn, form))
    flash(_("Thank you. The company has been told."), "success")
    return redirect(url_for("resources.detail", resource_id=resource.id))


@bp.post("/<int:resource_id>/training")
@login_required
def training(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    form = TrainingRequestForm()
    if not form.validate():
        raise ValidationFailed(_("Some fields are not valid."), form.errors)
    bookings.request_training(resource, current_user, from_form(TrainingRequestIn, form))
    flash(_("Training requested. The company will contact you."), "success")
    return redirect(url_for("resources.detail", resource_id=resource.id))
