"""JSON API of resources: rules."""

from datetime import timedelta

from flask import abort, jsonify
from flask_login import current_user
from sqlalchemy import select

from portal.api import doc, iso, json_body, json_bool, parse, require_login
from portal.db import utcnow
from portal.extensions import db
from portal.permissions import Permission, load
from resources import availability, bookings, services
from resources.api.common import bp, resource_json
from resources.forms import (
    BlackoutForm,
    BookingPolicyForm,
    DeclineTrainingForm,
    ExceptionForm,
    ProblemForm,
    QualificationForm,
    ResolveProblemForm,
    TrainingRequestForm,
    clean_blackout,
    clean_exception,
    clean_qualification,
)
from resources.models import Blackout, Booking, OpeningException, ProblemReport, Resource, TrainingRequest

# ---- rules of the calendar, qualifications, outages ------------------------------------------------

@bp.post("/resources/<int:resource_id>/publication")
@doc("Publish or withdraw a resource (staff); publishing needs a verified company",
     responses={200: "Saved", 409: "organisation_unverified: the company is not verified yet"})
def resource_publication(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    published = json_bool(json_body(), "published")
    return jsonify(resource_json(services.set_published(resource, published, current_user)))


@bp.put("/resources/<int:resource_id>/booking-policy")
@doc("Cancellation policy and weekly quota (staff)", form=BookingPolicyForm, responses={200: "Saved"})
def resource_booking_policy(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    body = json_body()
    parse(BookingPolicyForm, body)
    return jsonify(resource_json(services.update_booking_policy(resource, body, current_user)))


@bp.post("/resources/<int:resource_id>/exceptions")
@doc("A dated exception to the weekly hours (staff): other hours on that local date, or closed (no times)",
     form=ExceptionForm, responses={201: "Added"})
def exception_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    form = parse(ExceptionForm)
    day, opens, closes = clean_exception(form)
    row = bookings.add_exception(resource, day, opens, closes, form.note.data or "", current_user)
    return jsonify(row.as_dict()), 201



@bp.post("/resources/<int:resource_id>/blackouts")
@doc("Close the resource for a period (staff): kind blackout, maintenance or outage (marks it down). "
     "Open bookings in the period are cancelled without a fee and their bookers mailed with alternatives.",
     form=BlackoutForm, responses={201: "{id, cancelled: [booking ids]}"})
@bookings.serialised_write
def blackout_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    form = parse(BlackoutForm)
    start, end = clean_blackout(form, resource)
    blackout, cancelled = bookings.add_blackout(resource, start, end, form.kind.data, form.reason.data or "",
                                                current_user)
    return jsonify({"id": blackout.id, "kind": blackout.kind, "start": iso(blackout.starts_at),
                    "end": iso(blackout.ends_at), "cancelled": [b.id for b in cancelled]}), 201


def _child(model, child_id: int, resource: Resource):
    """A row belonging to `resource` (exception, blackout, report, request), or 404."""
    row = db.session.get(model, child_id)
    if row is None or row.resource_id != resource.id:
        abort(404)
    return row


@bp.put("/resources/<int:resource_id>/exceptions/<int:exception_id>")
@doc("Change a dated exception (staff): other date, hours, or closed (no times)", form=ExceptionForm,
     responses={200: "Saved"})
def exception_update(resource_id: int, exception_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    row = _child(OpeningException, exception_id, resource)
    form = parse(ExceptionForm)
    day, opens, closes = clean_exception(form)
    return jsonify(bookings.update_exception(row, day, opens, closes, form.note.data or "", current_user).as_dict())


@bp.delete("/resources/<int:resource_id>/exceptions/<int:exception_id>")
@doc("Remove a dated exception (staff): the weekly hours apply again", responses={204: "Removed"})
def exception_delete(resource_id: int, exception_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    bookings.delete_exception(_child(OpeningException, exception_id, resource), current_user)
    return "", 204


@bp.get("/resources/<int:resource_id>/blackouts")
@doc("Closures, maintenance and outages from now on (staff)")
def blackout_list(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    now = utcnow()
    rows = availability.blackouts_in(resource.id, now, now + timedelta(days=730))
    return jsonify({"items": [_blackout_json(b) for b in rows],
                    "exceptions": [e.as_dict() for e in db.session.scalars(
                        select(OpeningException).where(OpeningException.resource_id == resource.id,
                                                       OpeningException.day >= now.date() - timedelta(days=1))
                        .order_by(OpeningException.day))]})


def _blackout_json(blackout: Blackout, cancelled: list[Booking] | None = None) -> dict:
    data = {"id": blackout.id, "kind": blackout.kind, "start": iso(blackout.starts_at), "end": iso(blackout.ends_at),
            "reason": blackout.reason}
    if cancelled is not None:
        data["cancelled"] = [b.id for b in cancelled]
    return data



@bp.put("/resources/<int:resource_id>/blackouts/<int:blackout_id>")
@doc("Change a closure (staff). Open bookings the new period covers are cancelled without a fee and "
     "mailed; time it no longer covers is bookable again", form=BlackoutForm,
     responses={200: "{id, kind, start, end, reason, cancelled: [booking ids]}"})
@bookings.serialised_write
def blackout_update(resource_id: int, blackout_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    row = _child(Blackout, blackout_id, resource)
    form = parse(BlackoutForm)
    start, end = clean_blackout(form, resource)
    blackout, cancelled = bookings.update_blackout(row, start, end, form.kind.data, form.reason.data or "",
                                                   current_user)
    return jsonify(_blackout_json(blackout, cancelled))


@bp.delete("/resources/<int:resource_id>/blackouts/<int:blackout_id>")
@doc("Remove a closure (staff): its time is bookable again", responses={204: "Removed"})
@bookings.serialised_write
def blackout_delete(resource_id: int, blackout_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    bookings.delete_blackout(_child(Blackout, blackout_id, resource), current_user)
    return "", 204


def _problem_json(report: ProblemReport, note: str | None = None) -> dict:
    return {"id": report.id, "resource_id": report.resource_id, "user_id": report.user_id,
            "description": report.description, "created_at": iso(report.created_at),
            "resolved_at": iso(report.resolved_at), "resolution_note": note}


@bp.get("/resources/<int:resource_id>/problems")
@doc("Problem reports of a resource, newest first, with their resolution notes (staff)")
def problem_list(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    rows = db.session.scalars(select(ProblemReport).where(ProblemReport.resource_id == resource.id)
                              .order_by(ProblemReport.id.desc()).limit(200)).all()
    notes = bookings.problem_notes(rows)
    return jsonify({"items": [_problem_json(r, notes.get(r.id)) for r in rows]})


@bp.post("/resources/<int:resource_id>/problems/<int:report_id>/resolve")
@doc("Resolve a problem report with a note (staff); the reporter is mailed", form=ResolveProblemForm,
     responses={200: "Resolved", 409: "Already resolved"})
def problem_resolve(resource_id: int, report_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    report = _child(ProblemReport, report_id, resource)
    form = parse(ResolveProblemForm)
    bookings.resolve_problem(report, current_user, form.note.data)
    return jsonify(_problem_json(report, form.note.data.strip()))


@bp.get("/resources/<int:resource_id>/training-requests")
@doc("Open training requests of a resource (staff)")
def training_request_list(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    rows = db.session.scalars(select(TrainingRequest).where(
        TrainingRequest.resource_id == resource.id, TrainingRequest.status == "open")
        .order_by(TrainingRequest.id)).all()
    return jsonify({"items": [{"id": t.id, "user": {"id": t.user_id, "name": t.user.name, "email": t.user.email},
                               "message": t.message, "status": t.status, "created_at": iso(t.created_at)}
                              for t in rows]})


@bp.post("/resources/<int:resource_id>/training-requests/<int:request_id>/decline")
@doc("Decline a training request with a reason (staff); the requester is mailed", form=DeclineTrainingForm,
     responses={200: "Declined", 409: "No longer open"})
def training_request_decline(resource_id: int, request_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    training = _child(TrainingRequest, request_id, resource)
    form = parse(DeclineTrainingForm)
    bookings.decline_training(training, current_user, form.reason.data)
    return jsonify({"id": training.id, "status": training.status})


@bp.post("/resources/<int:resource_id>/problems")
@doc("Report a problem with a resource (any logged-in user); staff are mailed", form=ProblemForm,
     responses={201: "Reported"})
def problem_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.VIEW)
    form = parse(ProblemForm)
    report = bookings.report_problem(resource, current_user, form.description.data)
    return jsonify({"id": report.id, "created_at": iso(report.created_at)}), 201


@bp.post("/resources/<int:resource_id>/qualifications")
@doc("Qualify a user (by email) on a resource, optionally until a date (staff)", form=QualificationForm,
     responses={201: "Granted"})
def qualification_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    form = parse(QualificationForm)
    user, expires_at = clean_qualification(form, resource)
    qualification = bookings.grant_qualification(resource, user, expires_at, current_user)
    return jsonify({"id": qualification.id, "user_id": user.id,
                    "expires_at": iso(qualification.expires_at)}), 201



@bp.post("/resources/<int:resource_id>/training-requests")
@doc("Ask for the training a qualification-only resource requires", form=TrainingRequestForm,
     responses={201: "Requested", 409: "Already qualified or already asked"})
def training_request_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.VIEW)
    form = parse(TrainingRequestForm)
    training = bookings.request_training(resource, current_user, form.message.data or "")
    return jsonify({"id": training.id, "status": training.status}), 201
