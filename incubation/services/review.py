"""Review of applications: assignments, conflicts of interest, blind review, ranking, decisions, credits."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from incubation.models import (
    PENDING_APPLICATION_STATUSES,
    Application,
    ApplicationReview,
    ApplicationStatus,
    IncubationMode,
    Program,
    ProgramCriterion,
    Project,
    ProjectStatus,
    Recommendation,
    ResourceCredit,
    ReviewAssignment,
)
from incubation.policies import is_blind_for, reviewer_program_ids
from incubation.schemas.programs import AutoAssignment, ConflictDeclaration, Decision, NewReview
from incubation.services.documents import former_employers
from incubation.services.people import authenticated, founders_of, organisation_members
from incubation.services.programs import accepted_count, applications_of_program
from incubation.services.projects import add_timeline_note, transition_project
from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, ConflictOfInterest, ValidationFailed
from portal.extensions import db
from portal.mail import send_to_user, send_to_users
from portal.organisations.models import Organisation
from portal.organisations.services import MEMBER_JOINED_HOOKS, role_in
from portal.states import label_for
from portal.urls import external_url

# ---- review ----------------------------------------------------------------------------------

def conflict_reasons(application: Application, reviewer: User) -> list[str]:
    """Conflicts of interest known BEFORE assignment: the reviewer is in the applicant organisation, or
    formerly worked for a company a founder also formerly worked for (any record, verified or not)."""
    reasons = []
    project = application.project
    if role_in(reviewer, project.organisation_id) is not None:
        reasons.append(_("The reviewer is a member of the applicant organisation."))
    founder_ids = [u.id for u in founders_of(project) if u.id != reviewer.id]
    employers = former_employers([reviewer.id, *founder_ids])
    reviewer_companies = employers.get(reviewer.id, set())
    shared = set()
    for founder_id in founder_ids:
        shared |= reviewer_companies & employers.get(founder_id, set())
    if shared:
        names = db.session.scalars(select(Organisation.name).where(Organisation.id.in_(shared))
                                   .order_by(Organisation.name))
        reasons.append(_("The reviewer and a founder formerly worked for the same company: %(names)s",
                         names=", ".join(names)))
    return reasons


def _require_pending(application: Application) -> None:
    if application.status not in PENDING_APPLICATION_STATUSES:
        raise Conflict(_("This application is already decided."), {"status": [application.status]})


def assign_reviewer(application: Application, reviewer: User, by: User | None = None) -> ReviewAssignment:
    _require_pending(application)
    if db.session.scalar(select(ReviewAssignment.id).where(ReviewAssignment.application_id == application.id,
                                                           ReviewAssignment.reviewer_id == reviewer.id)):
        raise Conflict(_("This reviewer is already assigned."), {"user_id": [str(reviewer.id)]})
    reasons = conflict_reasons(application, reviewer)
    if reasons:
        raise Conflict(_("Conflict of interest: %(reasons)s", reasons=" ".join(reasons)),
                       {"user_id": reasons})
    assignment = ReviewAssignment(application_id=application.id, reviewer_id=reviewer.id,
                                  assigned_by_id=by.id if authenticated(by) else None)
    db.session.add(assignment)
    application.status = ApplicationStatus.UNDER_REVIEW
    db.session.flush()
    project = application.project
    if project.status == ProjectStatus.SUBMITTED:
        transition_project(project, ProjectStatus.SCREENING, actor=by,
                           note=_("Screening by %(program)s", program=application.program.title))
    audit.record("application.reviewer_assigned", application, after={"reviewer_id": reviewer.id})
    send_to_user(reviewer, lambda: (
        _("Please review %(title)s", title=application_title(application, blind=is_blind_for(reviewer, application))),
        _("You were asked to review an application to %(program)s.", program=application.program.title)),
        kind="review.assignment", link=external_url("incubation.application_detail", application_id=application.id))
    return assignment


# ---- blind review: the rule is one policy, incubation.policies.is_blind_for ---------------------------

def application_title(application: Application, *, blind: bool) -> str:
    return _("Application #%(id)s", id=application.id) if blind else application.project.title


def reviewer_pool(program: Program) -> list[User]:
    """By default the staff of the company running the program review its applications."""
    return organisation_members(program.organisation_id)


def active_load(program: Program) -> dict[int, int]:
    rows = db.session.execute(
        select(ReviewAssignment.reviewer_id, func.count())
        .join(Application, Application.id == ReviewAssignment.application_id)
        .where(Application.program_id == program.id, ReviewAssignment.conflict_declared_at.is_(None))
        .group_by(ReviewAssignment.reviewer_id))
    return {reviewer_id: count for reviewer_id, count in rows}


def auto_assign(program: Program, per_application: int, pool: list[User] | None = None,
                by: User | None = None) -> list[ReviewAssignment]:
    """Give each pending application `per_application` active reviewers, always picking the least loaded
    reviewer without a conflict of interest, so the work spreads evenly. `per_application` is 1 to 10
    (an `AutoAssignment` command's `reviewers_per_application`)."""
    pool = pool if pool is not None else reviewer_pool(program)
    if not pool:
        raise ValidationFailed.field("user_ids", _("There is nobody to assign."))
    load = active_load(program)
    created = []
    for application in applications_of_program(program, with_assignments=True):
        if application.status not in PENDING_APPLICATION_STATUSES:
            continue
        assigned = {a.reviewer_id for a in application.assignments}
        active = sum(1 for a in application.assignments if a.conflict_declared_at is None)
        candidates = sorted((u for u in pool if u.id not in assigned), key=lambda u: (load.get(u.id, 0), u.id))
        for reviewer in candidates:
            if active >= per_application:
                break
            try:  # assign_reviewer checks for conflicts of interest before it writes anything
                created.append(assign_reviewer(application, reviewer, by))
            except Conflict:
                continue
            load[reviewer.id] = load.get(reviewer.id, 0) + 1
            active += 1
    return created


# Automatic assignment of a large program runs as a background job; its queueing and its result are audit
# events on the program, which is also where the page and the API read the outcome from.
AUTO_ASSIGN_QUEUED = "program.auto_assign_queued"
AUTO_ASSIGN_DONE = "program.auto_assign_done"
AUTO_ASSIGN_FAILED = "program.auto_assign_failed"
DEFAULT_AUTO_ASSIGN_INLINE_MAX = 50


def pending_application_count(program: Program) -> int:
    return db.session.scalar(select(func.count()).select_from(Application).where(
        Application.program_id == program.id, Application.status.in_(PENDING_APPLICATION_STATUSES))) or 0


@dataclass
class AutoAssignStatus:
    state: str  # "none", "running", "done" or "failed"
    at: datetime | None = None
    created: int | None = None
    reviewers_per_application: int | None = None
    short: int | None = None  # pending applications still below the wanted number of reviewers
    error: str | None = None


def auto_assign_status(program: Program) -> AutoAssignStatus:
    from portal.audit import AuditEvent

    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.object_type == "Program", AuditEvent.object_id == str(program.id),
        AuditEvent.action.in_((AUTO_ASSIGN_QUEUED, AUTO_ASSIGN_DONE, AUTO_ASSIGN_FAILED)))
        .order_by(AuditEvent.id.desc()).limit(1))
    if event is None:
        return AutoAssignStatus("none")
    after = event.after or {}
    state = {AUTO_ASSIGN_QUEUED: "running", AUTO_ASSIGN_DONE: "done", AUTO_ASSIGN_FAILED: "failed"}[event.action]
    return AutoAssignStatus(state, at=event.created_at, created=after.get("created"),
                            reviewers_per_application=after.get("reviewers_per_application"),
                            short=after.get("short"), error=after.get("error"))


def short_of_reviewers(program: Program, per_application: int) -> int:
    """Pending applications that still have fewer active reviewers than wanted."""
    return sum(1 for a in applications_of_program(program, with_assignments=True)
               if a.status in PENDING_APPLICATION_STATUSES
               and sum(1 for x in a.assignments if x.conflict_declared_at is None) < per_application)


def reviewer_pool_of(command: AutoAssignment) -> list[User] | None:
    """The users the command names as the pool (None: the company's staff); 400 on `user_ids` for an
    unknown id or an empty list."""
    if command.user_ids is None:
        return None
    wanted = set(command.user_ids)
    pool = list(db.session.scalars(select(User).where(User.id.in_(wanted)).order_by(User.id))) if wanted else []
    if len(pool) != len(wanted):
        raise ValidationFailed.field("user_ids", _("No such user."))
    if not pool:
        raise ValidationFailed.field("user_ids", _("There is nobody to assign."))
    return pool


def request_auto_assign(program: Program, command: AutoAssignment,
                        by: User | None = None) -> list[ReviewAssignment] | None:
    """Assign now (small programs: the new assignments) or in the background (large ones: None).

    Above AUTO_ASSIGN_INLINE_MAX pending applications the work goes to `incubation.tasks.auto_assign_job`;
    its result is shown by `auto_assign_status`. One background run per program at a time.
    """
    per_application = command.reviewers_per_application
    pool = reviewer_pool_of(command)
    limit = int(current_app.config.get("AUTO_ASSIGN_INLINE_MAX", DEFAULT_AUTO_ASSIGN_INLINE_MAX))
    if pending_application_count(program) <= limit:
        return auto_assign(program, per_application, pool, by)
    if auto_assign_status(program).state == "running":
        raise Conflict(_("An automatic assignment of this program is already running."),
                       {"program": [_("running")]})
    if pool is None and not reviewer_pool(program):
        raise ValidationFailed.field("user_ids", _("There is nobody to assign."))
    audit.record(AUTO_ASSIGN_QUEUED, program, after={"reviewers_per_application": per_application,
                                                     "pool": [u.id for u in pool] if pool is not None else None},
                 actor_id=by.id if authenticated(by) else None)
    from portal import jobs

    jobs.enqueue("incubation.tasks.auto_assign_job", program.id, per_application,
                 [u.id for u in pool] if pool is not None else None, by.id if authenticated(by) else None)
    return None


def declare_conflict(assignment: ReviewAssignment, command: ConflictDeclaration) -> ReviewAssignment:
    if assignment.review is not None:
        raise Conflict(_("You already reviewed this application."))
    if assignment.conflict_declared_at is not None:
        raise Conflict(_("You already declared a conflict."))
    assignment.conflict_declared_at = utcnow()
    assignment.conflict_reason = command.reason
    db.session.flush()
    audit.record("review.conflict_declared", assignment.application,
                 after={"reviewer_id": assignment.reviewer_id, "reason": assignment.conflict_reason})
    return assignment


def recheck_conflicts_after_membership(user: User, organisation_id: int) -> list[ReviewAssignment]:
    """Run the conflict rules again after `user` became a member of an organisation (an accepted invitation).

    Two kinds of pending assignment (no review yet, no conflict yet, application undecided) can turn
    conflicted: the new member's own (they now belong to the applicant, say), and other reviewers' on the
    organisation's applications (the new member is now a founder who may share a former employer with
    them). Each conflicted one is withdrawn with its reason (audited), the program's managers are mailed
    in their language and so is the reviewer. There is no in-app notification centre: the application page
    shows the withdrawal to managers and to the reviewer. Returns the withdrawn assignments.
    """
    pending = (select(ReviewAssignment).join(Application, Application.id == ReviewAssignment.application_id)
               .outerjoin(ApplicationReview, ApplicationReview.assignment_id == ReviewAssignment.id)
               .where(ApplicationReview.id.is_(None), ReviewAssignment.conflict_declared_at.is_(None),
                      Application.status.in_(PENDING_APPLICATION_STATUSES)))
    candidates = list(db.session.scalars(pending.where(ReviewAssignment.reviewer_id == user.id)))
    candidates += [a for a in db.session.scalars(
        pending.join(Project, Project.id == Application.project_id)
        .where(Project.organisation_id == organisation_id, ReviewAssignment.reviewer_id != user.id))]
    withdrawn = []
    for assignment in sorted(candidates, key=lambda a: a.id):
        reasons = conflict_reasons(assignment.application, assignment.reviewer)
        if reasons:
            withdraw_for_conflict(assignment, reasons)
            withdrawn.append(assignment)
    return withdrawn


MEMBER_JOINED_HOOKS.append(recheck_conflicts_after_membership)


def withdraw_for_conflict(assignment: ReviewAssignment, reasons: list[str]) -> ReviewAssignment:
    """Take a reviewer off an application because a conflict of interest appeared; managers are told."""
    now = utcnow()
    assignment.conflict_declared_at = now
    assignment.withdrawn_at = now
    assignment.conflict_reason = " ".join(reasons)[:500]
    db.session.flush()
    application, program, reviewer = assignment.application, assignment.application.program, assignment.reviewer
    audit.record("review.withdrawn_for_conflict", application,
                 after={"reviewer_id": reviewer.id, "reason": assignment.conflict_reason}, actor_id=None)
    managers = [m for m in organisation_members(program.organisation_id) if m.id != reviewer.id]
    in_program = {}
    for manager in managers:
        in_program[manager.id] = program.id in reviewer_program_ids(manager)
    for manager in managers:
        send_to_user(manager, lambda manager=manager: (
            _("Reviewer withdrawn from %(title)s", title=application_title(
                application, blind=is_blind_for(manager, application, in_program[manager.id]))),
            _("%(name)s can no longer review application #%(id)s to %(program)s because of a conflict of "
              "interest:\n%(reason)s\n\nAssign another reviewer if the application needs one.",
              name=reviewer.name, id=application.id, program=program.title, reason=assignment.conflict_reason)),
            kind="review.assignment", link=external_url("incubation.application_detail", application_id=application.id))
    send_to_user(reviewer, lambda: (
        _("You were withdrawn from application #%(id)s", id=application.id),
        _("A conflict of interest appeared, so you can no longer review application #%(id)s to %(program)s:\n"
          "%(reason)s", id=application.id, program=program.title, reason=assignment.conflict_reason)),
        kind="review.assignment")
    return assignment


def assignment_of(application: Application, user: User | None) -> ReviewAssignment | None:
    if not authenticated(user):
        return None
    return db.session.scalar(select(ReviewAssignment).where(ReviewAssignment.application_id == application.id,
                                                            ReviewAssignment.reviewer_id == user.id))


def weighted_score(criteria: list[ProgramCriterion], scores: dict[str, int]) -> float:
    total = sum(c.weight for c in criteria)
    return sum(c.weight * scores[c.name] for c in criteria) / total if total else 0.0


def submit_review(assignment: ReviewAssignment, command: NewReview) -> ApplicationReview:
    """Store the review of an assigned reviewer. The conflict rules run again now (a membership accepted
    since the assignment counts): a conflicted reviewer gets 409 `conflict_of_interest` and nothing is stored.
    The command's scores must name each of the program's criteria, and nothing else."""
    application = assignment.application
    _require_pending(application)
    if assignment.review is not None:
        raise Conflict(_("You already reviewed this application."))
    if assignment.withdrawn_at is not None:
        raise ConflictOfInterest(_("You were withdrawn from this application because of a conflict of interest: "
                                   "%(reason)s", reason=assignment.conflict_reason), {"reviewer": [_("withdrawn")]})
    if assignment.conflict_declared_at is not None:
        raise ConflictOfInterest(_("You declared a conflict of interest on this application."),
                                 {"reviewer": [_("conflict declared")]})
    reasons = conflict_reasons(application, assignment.reviewer)
    if reasons:
        raise ConflictOfInterest(_("Conflict of interest: %(reasons)s", reasons=" ".join(reasons)),
                                 {"reviewer": reasons})
    criteria = application.program.criteria
    scores = command.scores
    unknown = set(scores) - {c.name for c in criteria}
    if unknown:
        raise ValidationFailed.field("scores", _("Unknown criterion: %(names)s", names=", ".join(sorted(unknown))))
    for criterion in criteria:
        if criterion.name not in scores:
            raise ValidationFailed.field(f"scores.{criterion.name}", _("A whole number from 0 to 5."))
    clean = {c.name: scores[c.name] for c in criteria}
    review = ApplicationReview(assignment_id=assignment.id, scores=clean, recommendation=command.recommendation,
                               weighted_score=round(weighted_score(criteria, clean), 4), comment=command.comment)
    db.session.add(review)
    db.session.flush()
    audit.record("review.submitted", application, after={"reviewer_id": assignment.reviewer_id,
                                                         "weighted_score": review.weighted_score,
                                                         "recommendation": command.recommendation})
    return review


@dataclass
class RankingRow:
    application: Application
    reviews: int = 0
    average: float | None = None  # mean of the reviews' weighted scores, 0-5
    normalised: float | None = None  # mean of per-reviewer z-scores
    recommendations: dict[str, int] = field(default_factory=lambda: {r: 0 for r in Recommendation.values()})
    rank: int | None = None


def ranking(program: Program) -> list[RankingRow]:
    """Applications ranked by the mean of per-reviewer z-scores of their weighted scores.

    A harsh reviewer's 2.0 and a lenient reviewer's 4.5 may say the same thing; standardising each
    reviewer's scores (mean 0, standard deviation 1 over everything they reviewed in this program)
    makes both count equally. A reviewer with one review or identical scores contributes 0.
    """
    rows = {a.id: RankingRow(a) for a in applications_of_program(program)}
    reviews = db.session.execute(
        select(ApplicationReview.weighted_score, ApplicationReview.recommendation, ReviewAssignment.reviewer_id,
               ReviewAssignment.application_id)
        .join(ReviewAssignment, ReviewAssignment.id == ApplicationReview.assignment_id)
        .join(Application, Application.id == ReviewAssignment.application_id)
        .where(Application.program_id == program.id)).all()
    by_reviewer: dict[int, list[float]] = {}
    for score, _rec, reviewer_id, _app in reviews:
        by_reviewer.setdefault(reviewer_id, []).append(score)
    stats = {}
    for reviewer_id, values in by_reviewer.items():
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        stats[reviewer_id] = (mean, std)
    raw: dict[int, list[float]] = {}
    zs: dict[int, list[float]] = {}
    for score, rec, reviewer_id, application_id in reviews:
        mean, std = stats[reviewer_id]
        raw.setdefault(application_id, []).append(score)
        zs.setdefault(application_id, []).append((score - mean) / std if std > 1e-9 else 0.0)
        rows[application_id].recommendations[rec] += 1
    for application_id, row in rows.items():
        if application_id in raw:
            row.reviews = len(raw[application_id])
            row.average = round(sum(raw[application_id]) / row.reviews, 3)
            row.normalised = round(sum(zs[application_id]) / row.reviews, 3)
    ordered = sorted(rows.values(), key=lambda r: (r.normalised is None, -(r.normalised or 0), -(r.average or 0),
                                                   r.application.id))
    for index, row in enumerate(r for r in ordered if r.normalised is not None):
        row.rank = index + 1
    return ordered


def decide(application: Application, command: Decision, by: User | None = None) -> Application:
    """Accept or reject an application; the feedback is shown (and mailed) to the founders."""
    _require_pending(application)
    decision, feedback = command.decision, command.feedback
    program, project = application.program, application.project
    if decision == ApplicationStatus.ACCEPTED:
        if accepted_count(program) >= program.capacity:
            raise Conflict(ngettext("The program is full (%(num)s place).", "The program is full (%(num)s places).",
                                    program.capacity), {"decision": ["full"]})
        if project.status not in (ProjectStatus.SUBMITTED, ProjectStatus.SCREENING, ProjectStatus.ACCEPTED,
                                  ProjectStatus.INCUBATING):
            raise Conflict(_("A project in status %(status)s cannot be accepted.", status=label_for(project.status, "ProjectStatus")),
                           {"status": [project.status]})
    application.status = decision
    application.feedback = feedback
    application.decided_at = utcnow()
    application.decided_by_id = by.id if authenticated(by) else None
    db.session.flush()
    audit.record(f"application.{decision}", application, after={"program_id": program.id,
                                                               "project_id": project.id})
    if project.status == ProjectStatus.SUBMITTED:
        transition_project(project, ProjectStatus.SCREENING, actor=by,
                           note=_("Screening by %(program)s", program=program.title))
    if decision == ApplicationStatus.ACCEPTED:
        if project.status == ProjectStatus.SCREENING:
            transition_project(project, ProjectStatus.ACCEPTED, actor=by,
                               note=_("Accepted into %(program)s: %(feedback)s", program=program.title,
                                      feedback=feedback))
        else:
            add_timeline_note(project, "accepted", _("Accepted into %(program)s", program=program.title), by)
        if program.mode == IncubationMode.OPEN_SOURCE and program.credit_amount:
            credit = ResourceCredit(organisation_id=project.organisation_id, application_id=application.id,
                                    amount=program.credit_amount, currency=program.credit_currency)
            db.session.add(credit)
            db.session.flush()
            audit.record("resource_credit.granted", credit, after={"amount": credit.amount,
                                                                  "currency": credit.currency,
                                                                  "organisation_id": credit.organisation_id})
        send_to_users(founders_of(project), lambda: (
            _("%(title)s was accepted into %(program)s", title=project.title, program=program.title),
            _("Congratulations!\n\nFeedback from the program:\n%(feedback)s", feedback=feedback)),
            kind="application.decision", link=external_url("incubation.application_detail", application_id=application.id))
        return application
    still_pending = db.session.scalar(select(func.count()).select_from(Application).where(
        Application.project_id == project.id, Application.id != application.id,
        Application.status.in_(PENDING_APPLICATION_STATUSES + (ApplicationStatus.ACCEPTED,))))
    if project.status == ProjectStatus.SCREENING and not still_pending:
        transition_project(project, ProjectStatus.REJECTED, actor=by,
                           note=_("%(program)s: %(feedback)s", program=program.title, feedback=feedback))
    else:
        add_timeline_note(project, "rejected", _("Not accepted into %(program)s", program=program.title), by)
        send_to_users(founders_of(project), lambda: (
            _("Your project %(title)s was not accepted", title=project.title),
            _("%(program)s did not accept %(title)s.\n\nThe reason:\n%(reason)s", program=program.title,
              title=project.title, reason=feedback)),
            kind="application.decision", link=external_url("incubation.application_detail", application_id=application.id))
    return application


def resource_credits_of(organisation_id: int) -> list[ResourceCredit]:
    return list(db.session.scalars(select(ResourceCredit).where(ResourceCredit.organisation_id == organisation_id)))


def reviews_assigned_to(user: User) -> list[ReviewAssignment]:
    """The user's assignments; a list shows each one blind or not with `is_blind_for(user, a.application, True)`
    (the user reviews in each of these programs)."""
    return list(db.session.scalars(
        select(ReviewAssignment).join(Application).where(ReviewAssignment.reviewer_id == user.id)
        .options(selectinload(ReviewAssignment.application).selectinload(Application.program),
                 selectinload(ReviewAssignment.application).selectinload(Application.project),
                 selectinload(ReviewAssignment.review))
        .order_by(Application.created_at.desc())))
