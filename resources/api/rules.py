"""JSON API of resources: the rules of the calendar (publication, booking policy, exceptions, closures),
problem reports, qualifications and training requests."""

from datetime import timedelta

from flask import abort, jsonify
from flask_login import current_user
from sqlalchemy import select

from portal.api import doc, iso, read_body, require_login
from portal.db import utcnow
from portal.extensions import db
from portal.permissions import Permission, load
from resources import availability, bookings, services
from resources.api.common import bp, resource_json
from resources.models import Blackout, Booking, OpeningException, ProblemReport, Resource, TrainingRequest
from resources.schemas import (
    BlackoutOut,
    BookingPolicy,
    DeclineTraining,
    ExceptionOut,
    NewBlackout,
    NewException,
    NewQualification,
    ProblemCreatedOut,
    ProblemIn,
    ProblemOut,
    Publication,
    QualificationOut,
    ResolveProblem,
    ResourceOut,
    StatusOut,
    TrainingRequestIn,
    TrainingRequestOut,
)

# ---- rules of the calendar, qualifications, outages ------------------------------------------------

@bp.post("/resources/<int:resource_id>/publication")
@doc("Publish or withdraw a resource (staff); publishing needs a verified company", body=Publication,
     response=ResourceOut, responses={200: "Saved", 409: "organisation_unverified: the company is not verified yet"})
def resource_publication(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    cmd = read_body(Publication)
    return jsonify(resource_json(services.set_published(resource, cmd.published, current_user)))


@bp.put("/resources/<int:resource_id>/booking-policy")
@doc("Cancellation policy and weekly quota (staff)", body=BookingPolicy, response=ResourceOut,
     responses={200: "Saved"})
def resource_booking_policy(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    return jsonify(resource_json(services.update_booking_policy(resource, read_body(BookingPolicy), current_user)))


@bp.post("/resources/<int:resource_id>/exceptions")
@doc("A dated exception to the weekly hours (staff): other hours on that local date, or closed (no times)",
     body=NewException, response=ExceptionOut, responses={201: "Added"})
def exception_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    row = bookings.add_exception(resource, read_body(NewException), current_user)
    return jsonify(row.as_dict()), 201


@bp.post("/resources/<int:resource_id>/blackouts")
@doc("Close the resource for a period (staff): kind blackout, maintenance or outage (marks it down). "
     "Open bookings in the period are cancelled without a fee and their bookers mailed with alternatives.",
     body=NewBlackout, response=BlackoutOut, responses={201: "{id, cancelled: [booking ids]}"})
@bookings.serialised_write
def blackout_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    blackout, cancelled = bookings.add_blackout(resource, read_body(NewBlackout), current_user)
    return jsonify({"id": blackout.id, "kind": blackout.kind, "start": iso(blackout.starts_at),
                    "end": iso(blackout.ends_at), "cancelled": [b.id for b in cancelled]}), 201


def child_of(model, child_id: int, resource: Resource):
    """A row belonging to `resource` (exception, blackout, report, request), or 404."""
    row = db.session.get(model, child_id)
    if row is None or row.resource_id != resource.id:
        abort(404)
    return row


@bp.put("/resources/<int:resource_id>/exceptions/<int:exception_id>")
@doc("Change a dated exception (staff): other date, hours, or closed (no times)", body=NewException,
     response=ExceptionOut, responses={200: "Saved"})
def exception_update(resource_id: int, exception_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    row = child_of(OpeningException, exception_id, resource)
    return jsonify(bookings.update_exception(row, read_body(NewException), current_user).as_dict())


@bp.delete("/resources/<int:resource_id>/exceptions/<int:exception_id>")
@doc("Remove a dated exception (staff): the weekly hours apply again", responses={204: "Removed"})
def exception_delete(resource_id: int, exception_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    bookings.delete_exception(child_of(OpeningException, exception_id, resource), current_user)
    return "", 204


@bp.get("/resources/<int:resource_id>/blackouts")
@doc("Closures, maintenance and outages from now on (staff); `exceptions`: the dated exceptions from "
     "yesterday on", response=BlackoutOut)
def blackout_list(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    now = utcnow()
    rows = availability.blackouts_in(resource.id, now, now + timedelta(days=730))
    return jsonify({"items": [blackout_json(b) for b in rows],
                    "exceptions": [e.as_dict() for e in db.session.scalars(
                        select(OpeningException).where(OpeningException.resource_id == resource.id,
                                                       OpeningException.day >= now.date() - timedelta(days=1))
                        .order_by(OpeningException.day))]})


def blackout_json(blackout: Blackout, cancelled: list[Booking] | None = None) -> dict:
    data = {"id": blackout.id, "kind": blackout.kind, "start": iso(blackout.starts_at), "end": iso(blackout.ends_at),
            "reason": blackout.reason}
    if cancelled is not None:
        data["cancelled"] = [b.id for b in cancelled]
    return data


@bp.put("/resources/<int:resource_id>/blackouts/<int:blackout_id>")
@doc("Change a closure (staff). Open bookings the new period covers are cancelled without a fee and "
     "mailed; time it no longer covers is bookable again", body=NewBlackout, response=BlackoutOut,
     responses={200: "{id, kind, start, end, reason, cancelled: [booking ids]}"})
@bookings.serialised_write
def blackout_update(resource_id: int, blackout_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    row = child_of(Blackout, blackout_id, resource)
    blackout, cancelled = bookings.update_blackout(row, read_body(NewBlackout), current_user)
    return jsonify(blackout_json(blackout, cancelled))


@bp.delete("/resources/<int:resource_id>/blackouts/<int:blackout_id>")
@doc("Remove a closure (staff): its time is bookable again", responses={204: "Removed"})
@bookings.serialised_write
def blackout_delete(resource_id: int, blackout_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    bookings.delete_blackout(child_of(Blackout, blackout_id, resource), current_user)
    return "", 204


def problem_json(report: ProblemReport, note: str | None = None) -> dict:
    return {"id": report.id, "resource_id": report.resource_id, "user_id": report.user_id,
            "description": report.description, "created_at": iso(report.created_at),
            "resolved_at": iso(report.resolved_at), "resolution_note": note}


@bp.get("/resources/<int:resource_id>/problems")
@doc("Problem reports of a resource, newest first, with their resolution notes (staff)", response=ProblemOut)
def problem_list(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    rows = db.session.scalars(select(ProblemReport).where(ProblemReport.resource_id == resource.id)
                              .order_by(ProblemReport.id.desc()).limit(200)).all()
    notes = bookings.problem_notes(rows)
    return jsonify({"items": [problem_json(r, notes.get(r.id)) for r in rows]})


@bp.post("/resources/<int:resource_id>/problems/<int:report_id>/resolve")
@doc("Resolve a problem report with a note (staff); the reporter is mailed", body=ResolveProblem,
     response=ProblemOut, responses={200: "Resolved", 409: "Already resolved"})
def problem_resolve(resource_id: int, report_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    report = child_of(ProblemReport, report_id, resource)
    cmd = read_body(ResolveProblem)
    bookings.resolve_problem(report, current_user, cmd)
    return jsonify(problem_json(report, cmd.note))


@bp.get("/resources/<int:resource_id>/training-requests")
@doc("Open training requests of a resource (staff)", response=TrainingRequestOut)
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
@doc("Decline a training request with a reason (staff); the requester is mailed", body=DeclineTraining,
     response=StatusOut, responses={200: "Declined", 409: "No longer open"})
def training_request_decline(resource_id: int, request_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    training = child_of(TrainingRequest, request_id, resource)
    bookings.decline_training(training, current_user, read_body(DeclineTraining))
    return jsonify({"id": training.id, "status": training.status})


@bp.post("/resources/<int:resource_id>/problems")
@doc("Report a problem with a resource (any logged-in user); staff are mailed", body=ProblemIn,
     response=ProblemCreatedOut, responses={201: "Reported"})
def problem_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.VIEW)
    report = bookings.report_problem(resource, current_user, read_body(ProblemIn))
    return jsonify({"id": report.id, "created_at": iso(report.created_at)}), 201


@bp.post("/resources/<int:resource_id>/qualifications")
@doc("Qualify a user (by email) on a resource, optionally until a date (staff)", body=NewQualification,
     response=QualificationOut, responses={201: "Granted"})
def qualification_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    qualification = bookings.grant_qualification(resource, read_body(NewQualification), current_user)
    return jsonify({"id": qualification.id, "user_id": qualification.user_id,
                    "expires_at": iso(qualification.expires_at)}), 201


@bp.post("/resources/<int:resource_id>/training-requests")
@doc("Ask for the training a qualification-only resource requires", body=TrainingRequestIn, response=StatusOut,
     responses={201: "Requested", 409: "Already qualified or already asked"})
def training_request_create(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.VIEW)
    training = bookings.request_training(resource, current_user, read_body(TrainingRequestIn))
    return jsonify({"id": training.id, "status": training.status}), 201
