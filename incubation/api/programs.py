"""JSON API of incubation: programs, applications and their review."""

from flask import abort, jsonify
from flask_babel import gettext as _
from flask_login import current_user

from incubation import services
from incubation.api.common import bp, program_json, project_json
from incubation.models import Application, Program, Project, ReviewAssignment
from incubation.schemas.programs import (
    ApplicationOut,
    AssignmentOut,
    AutoAssignment,
    AutoAssignStatusOut,
    ConflictDeclaration,
    ConflictOut,
    Decision,
    NewApplication,
    NewProgram,
    NewReview,
    ProgramListQuery,
    ProgramOut,
    ProgramTerms,
    Publication,
    RankingOut,
    ReviewAssignmentOut,
    ReviewerAssignedOut,
    ReviewerChoice,
    ReviewStoredOut,
)
from portal.api import doc, iso, paginate, paginate_list, read_body, read_query, require_login
from portal.auth.models import User
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.organisations.services import role_in
from portal.permissions import Permission, can, load

# ---- programs ------------------------------------------------------------------------------------

@bp.get("/programs")
@doc("List incubation programs", auth=False, query=ProgramListQuery, response=ProgramOut)
def program_list():
    args = read_query(ProgramListQuery)
    stmt = services.open_programs_stmt() if args.open else services.visible_programs_stmt(current_user)
    if args.organisation_id is not None:
        stmt = stmt.where(Program.organisation_id == args.organisation_id)
    return jsonify(paginate(stmt, program_json))


@bp.get("/programs/<int:program_id>")
@doc("One incubation program with its review criteria", auth=False, response=ProgramOut)
def program_get(program_id: int):
    return jsonify(program_json(load(Program, program_id, Permission.VIEW)))


# ---- creating and changing programs --------------------------------------------------------------

@bp.post("/programs")
@doc("Create a program (a cohort) of your company; `published: false` saves a draft",
     body=NewProgram, response=ProgramOut,
     responses={201: "Created", 403: "Not staff of the organisation",
                409: "organisation_unverified: publishing waits until the company is verified"})
def program_create():
    require_login()
    command = read_body(NewProgram)
    organisation = load(Organisation, command.organisation_id, Permission.VIEW)
    if not current_user.is_admin and role_in(current_user, organisation.id) is None:
        abort(403)
    program = services.create_program(organisation, command)
    return jsonify(program_json(program)), 201


@bp.post("/programs/<int:program_id>/publication")
@doc("Publish or withdraw a program (the company's staff); publishing needs a verified company",
     body=Publication, response=ProgramOut,
     responses={200: "Saved", 409: "organisation_unverified: the company is not verified yet"})
def program_publication(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.EDIT)
    command = read_body(Publication)
    return jsonify(program_json(services.set_program_published(program, command, current_user)))


@bp.put("/programs/<int:program_id>")
@doc("Change a program's title, description, window, capacity, criteria and questions (its managers) while "
     "no review has been submitted; omit `criteria` / `questions` to keep them", body=ProgramTerms,
     response=ProgramOut, responses={200: "Updated", 409: "Reviews were already submitted"})
def program_update(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.EDIT)
    services.update_program(program, current_user, read_body(ProgramTerms))
    return jsonify(program_json(program))


# ---- applications and their review ---------------------------------------------------------------

def application_json(application: Application, viewer=None, reviews_in_program: bool | None = None) -> dict:
    """Blind (see services.is_blind_for): the id, status and the answers, nothing that names the applicant."""
    viewer = viewer if viewer is not None else current_user
    program = application.program
    manager = can(viewer, Permission.MANAGE, application)
    founder = role_in(viewer, application.project.organisation_id) is not None
    blind = services.is_blind_for(viewer, application, reviews_in_program)
    body = {"id": application.id, "program_id": program.id, "status": application.status, "blind": blind,
            "answers": [{"question": question.text, "answer": answer}
                        for question, answer in services.answered(application)],
            "created_at": iso(application.created_at),
            "feedback": application.feedback or None if (manager or founder) else None,
            "decided_at": iso(application.decided_at)}
    if blind:
        body["title"] = services.application_title(application, blind=True)
    else:
        body["title"] = application.project.title
        body["project_id"] = application.project.id
        body["project"] = project_json(application.project)
    if manager:
        body["reviewers"] = [{"user_id": a.reviewer_id, "name": a.reviewer.name,
                              "conflict": a.conflict_reason or None,
                              "withdrawn": a.withdrawn_at is not None,
                              "review": ({"scores": a.review.scores, "weighted_score": a.review.weighted_score,
                                          "recommendation": a.review.recommendation, "comment": a.review.comment}
                                         if a.review else None)} for a in application.assignments]
    return body


@bp.post("/programs/<int:program_id>/applications")
@doc("Apply with a submitted project of your startup; `answers` maps question ids to text", body=NewApplication,
     response=ApplicationOut,
     responses={201: "Applied", 400: "A gate of the program or a required answer", 409: "Closed, or applied already"})
def application_create(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.VIEW)
    command = read_body(NewApplication)
    project = load(Project, command.project_id, Permission.EDIT)
    application = services.apply_to_program(program, project, current_user, command)
    return jsonify(application_json(application)), 201


@bp.get("/programs/<int:program_id>/applications")
@doc("The applications to a program (its managers)", response=ApplicationOut)
def application_list(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.MANAGE)
    reviewer = services.blind_program_context(current_user, program)
    return jsonify(paginate_list(services.applications_of_program(program),
                                 lambda a: application_json(a, reviews_in_program=reviewer)))


@bp.get("/applications/<int:application_id>")
@doc("One application (founders, program managers and assigned reviewers; blind review hides the applicant)",
     response=ApplicationOut)
def application_get(application_id: int):
    require_login()
    return jsonify(application_json(load(Application, application_id, Permission.VIEW)))


@bp.get("/programs/<int:program_id>/ranking")
@doc("Applications ranked by per-reviewer z-score normalised weighted scores (program managers)",
     response=RankingOut)
def program_ranking(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.MANAGE)
    reviewer = services.blind_program_context(current_user, program)
    items = []
    for r in services.ranking(program):
        blind = services.is_blind_for(current_user, r.application, reviewer)
        items.append({"application_id": r.application.id,
                      "project_id": None if blind else r.application.project_id,
                      "title": services.application_title(r.application, blind=blind), "blind": blind,
                      "status": r.application.status, "reviews": r.reviews, "average": r.average,
                      "normalised": r.normalised, "recommendations": r.recommendations, "rank": r.rank})
    return jsonify({"items": items})


@bp.post("/programs/<int:program_id>/auto-assign")
@doc("Assign reviewers to every pending application, least-loaded first, skipping conflicts of interest "
     "(`user_ids` is the pool; the company's staff by default). Programs with more than AUTO_ASSIGN_INLINE_MAX "
     "(50) pending applications are assigned in the background: 202, then GET this path for the result",
     body=AutoAssignment, response={201: AssignmentOut, 202: AutoAssignStatusOut},
     responses={201: "The new assignments", 202: "Queued: the status",
                409: "A background assignment is already running"})
def program_auto_assign(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.MANAGE)
    created = services.request_auto_assign(program, read_body(AutoAssignment), current_user)
    if created is None:
        return jsonify(auto_assign_status_json(services.auto_assign_status(program))), 202
    return jsonify({"items": [{"application_id": a.application_id, "user_id": a.reviewer_id} for a in created]}), 201


def auto_assign_status_json(status: services.AutoAssignStatus) -> dict:
    return {"status": status.state, "at": iso(status.at), "created": status.created, "short": status.short,
            "reviewers_per_application": status.reviewers_per_application, "error": status.error}


@bp.get("/programs/<int:program_id>/auto-assign")
@doc("The latest automatic assignment of the program: none, running (in the background), done (with the number "
     "of new assignments and of applications still short of reviewers) or failed (program managers)",
     response=AutoAssignStatusOut)
def program_auto_assign_status(program_id: int):
    require_login()
    program = load(Program, program_id, Permission.MANAGE)
    return jsonify(auto_assign_status_json(services.auto_assign_status(program)))


@bp.post("/applications/<int:application_id>/reviewers")
@doc("Assign a reviewer (program managers); a conflict of interest is refused", body=ReviewerChoice,
     response=ReviewerAssignedOut, responses={201: "Assigned", 409: "Conflict of interest, or assigned already"})
def application_reviewer_add(application_id: int):
    require_login()
    application = load(Application, application_id, Permission.MANAGE)
    command = read_body(ReviewerChoice)
    reviewer = db.session.get(User, command.user_id)
    if reviewer is None:
        raise ValidationFailed.field("user_id", _("No such user."))
    assignment = services.assign_reviewer(application, reviewer, current_user)
    return jsonify({"application_id": application.id, "user_id": reviewer.id,
                    "assigned_at": iso(assignment.created_at)}), 201


@bp.get("/reviews")
@doc("Your review assignments; in a blind program a pending application shows only as \"Application #id\"",
     response=ReviewAssignmentOut)
def review_list():
    require_login()
    assignments = services.reviews_assigned_to(current_user)

    def assignment_json(a: ReviewAssignment) -> dict:
        blind = services.is_blind_for(current_user, a.application, True)
        return {"application_id": a.application_id, "program_id": a.application.program_id,
                "program": a.application.program.title, "blind": blind,
                "title": services.application_title(a.application, blind=blind),
                "project_id": None if blind else a.application.project_id,
                "application_status": a.application.status, "reviewed": a.review is not None,
                "conflict": a.conflict_reason or None, "withdrawn": a.withdrawn_at is not None,
                "assigned_at": iso(a.created_at)}

    return jsonify(paginate_list(assignments, assignment_json))


def my_assignment(application: Application) -> ReviewAssignment:
    assignment = services.assignment_of(application, current_user)
    if assignment is None:
        abort(403)
    return assignment


@bp.post("/applications/<int:application_id>/reviews")
@doc("Review an application: scores {criterion: 0-5}, recommendation yes|maybe|no (assigned reviewers)",
     body=NewReview, response=ReviewStoredOut, responses={201: "Stored", 403: "Not assigned",
                                          409: "Reviewed already, or `conflict_of_interest` (declared, withdrawn, or "
                                               "a conflict found at submit time; nothing is stored)"})
def application_review(application_id: int):
    require_login()
    application = load(Application, application_id, Permission.VIEW)
    assignment = my_assignment(application)  # refused before the body is read
    review = services.submit_review(assignment, read_body(NewReview))
    return jsonify({"id": review.id, "scores": review.scores, "weighted_score": review.weighted_score,
                    "recommendation": review.recommendation}), 201


@bp.post("/applications/<int:application_id>/conflict")
@doc("Declare a conflict of interest on an application assigned to you", body=ConflictDeclaration,
     response=ConflictOut, responses={409: "Reviewed already, or a conflict declared already"})
def application_conflict(application_id: int):
    require_login()
    application = load(Application, application_id, Permission.VIEW)
    assignment = my_assignment(application)  # refused before the body is read
    services.declare_conflict(assignment, read_body(ConflictDeclaration))
    return jsonify({"application_id": application.id, "conflict": True})


@bp.post("/applications/<int:application_id>/decision")
@doc("Accept or reject with feedback shown to the founders (program managers)", body=Decision,
     response=ApplicationOut, responses={200: "Decided", 409: "Decided already, or the program is full"})
def application_decision(application_id: int):
    require_login()
    application = load(Application, application_id, Permission.MANAGE)
    services.decide(application, read_body(Decision), current_user)
    return jsonify(application_json(application))
