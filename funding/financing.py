"""Financing applications: a founder asks a company or fund organisation for investment.

Confidential: the applicant organisation's members, the addressee's verified staff and platform admins
see an application (`funding.policies`). The addressee's staff score it (criteria weighted as program
reviews are) and decide only after at least one scored review; the founders are mailed the decision.
Without an addressee the application goes to the platform's own fund, which platform admins run.
No money moves here.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from funding.models import FinancingApplication, FinancingReview, FinancingStatus
from funding.schemas import FinancingDecision, FinancingRequest, FinancingReviewIn
from incubation.models import Project
from incubation.services import member_organisation_ids, weighted_score
from portal import audit
from portal.auth.models import Role, User, UserRole
from portal.db import utcnow
from portal.errors import Conflict, ConflictOfInterest, ValidationFailed
from portal.extensions import db
from portal.mail import send_to_users
from portal.organisations.models import Membership, Organisation, OrganisationKind
from portal.organisations.services import require_verified, role_in, verified_company_ids
from portal.states import labels
from portal.urls import external_url

# (name, weight): what a financing reviewer scores, 0-5 each.
FINANCING_CRITERIA: tuple[tuple[str, int], ...] = (("team", 2), ("market", 2), ("terms", 1))
CRITERION_LABELS = {"team": _l("Team"), "market": _l("Market and traction"), "terms": _l("Terms and use of funds")}
STATUS_LABELS = labels("FinancingStatus")  # the one label table (portal.states)
RECOMMENDATION_LABELS = labels("Recommendation")


def addressable_organisations() -> list[Organisation]:
    """Verified company organisations a founder may address."""
    return list(db.session.scalars(select(Organisation).where(
        Organisation.kind == OrganisationKind.COMPANY, Organisation.verified_at.is_not(None))
        .order_by(Organisation.name)))


def visible_financing(user: User) -> Select:
    """What `user` may see, newest first: their organisations' applications and those addressed to a
    verified company they work for; admins see all."""
    stmt = (select(FinancingApplication)
            .options(selectinload(FinancingApplication.project), selectinload(FinancingApplication.organisation),
                     selectinload(FinancingApplication.decided_by),
                     selectinload(FinancingApplication.reviews).selectinload(FinancingReview.reviewer))
            .order_by(FinancingApplication.created_at.desc(), FinancingApplication.id.desc()))
    if user.is_admin:
        return stmt
    own = member_organisation_ids(user) or [0]
    staff_of = verified_company_ids(user) or [0]
    return stmt.join(Project, Project.id == FinancingApplication.project_id).where(or_(
        Project.organisation_id.in_(own), FinancingApplication.organisation_id.in_(staff_of)))


def _staff(organisation: Organisation | None) -> list[User]:
    if organisation is None:
        return list(db.session.scalars(select(User).join(UserRole).where(UserRole.role == Role.ADMIN)))
    return list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                   .where(Membership.organisation_id == organisation.id)))


def _founders(project: Project) -> list[User]:
    return _staff(project.organisation)


def apply_for_financing(project: Project, applicant: User, cmd: FinancingRequest,
                        organisation: Organisation | None = None) -> FinancingApplication:
    """`organisation` is the addressee named by `cmd.organisation_id` (None: the platform's fund), looked up by
    the caller; the project is `cmd.project_id`, loaded by the caller with its permission."""
    if organisation is not None:
        if organisation.kind != OrganisationKind.COMPANY:
            raise ValidationFailed.field("organisation_id", _("Address a company or fund organisation."))
        if organisation.id == project.organisation_id:
            raise ValidationFailed.field("organisation_id", _("A project cannot ask its own organisation."))
        require_verified(organisation)
    application = FinancingApplication(project_id=project.id, applicant_id=applicant.id, amount=cmd.amount.amount,
                                       currency=cmd.amount.currency, use_of_funds=cmd.use_of_funds,
                                       terms=cmd.terms, status=FinancingStatus.SUBMITTED,
                                       organisation_id=organisation.id if organisation is not None else None)
    db.session.add(application)
    db.session.flush()
    audit.record("financing.applied", application, after={
        "project_id": project.id, "amount": application.amount, "currency": application.currency,
        "organisation_id": application.organisation_id})
    link = external_url("funding.financing_index")
    send_to_users(_staff(organisation), lambda: (
        _("New financing application: %(project)s", project=project.title),
        _("%(project)s asks %(fund)s for financing. Review it and record a decision:\n%(link)s",
          project=project.title, fund=organisation.name if organisation else _("the platform's fund"), link=link)),
        kind="financing.application", link=link)
    return application


def conflict_reasons(application: FinancingApplication, reviewer: User) -> list[str]:
    """Why `reviewer` may not judge this application: a member of the applicant organisation."""
    if role_in(reviewer, application.project.organisation_id) is not None:
        return [_("You are a member of the applicant organisation.")]
    return []


def _require_open(application: FinancingApplication) -> None:
    if application.status != FinancingStatus.SUBMITTED:
        raise Conflict(_("This application has already been decided."),
                       {"status": [str(STATUS_LABELS[application.status])]})


def review_financing(application: FinancingApplication, reviewer: User, cmd: FinancingReviewIn) -> FinancingReview:
    """One scored review per reviewer (whether the reviewer may review is checked by the caller)."""
    _require_open(application)
    reasons = conflict_reasons(application, reviewer)
    if reasons:
        raise ConflictOfInterest(reasons[0])
    if any(r.reviewer_id == reviewer.id for r in application.reviews):
        raise Conflict(_("You have already reviewed this application."), {"reviewer": [reviewer.name]})
    criteria = [_Criterion(name, weight) for name, weight in FINANCING_CRITERIA]
    scores = cmd.scores.model_dump()
    review = FinancingReview(application=application, reviewer_id=reviewer.id, scores=scores,
                             weighted_score=round(weighted_score(criteria, scores), 3),
                             recommendation=cmd.recommendation, comment=cmd.comment)
    db.session.add(review)
    db.session.flush()
    audit.record("financing.reviewed", application, actor_id=reviewer.id,
                 after={"review_id": review.id, "weighted_score": review.weighted_score,
                        "recommendation": cmd.recommendation})
    return review


class _Criterion:
    """The shape `incubation.services.weighted_score` reads (name, weight)."""

    def __init__(self, name: str, weight: int):
        self.name, self.weight = name, weight


def average_score(application: FinancingApplication) -> float | None:
    scores = [r.weighted_score for r in application.reviews]
    return round(sum(scores) / len(scores), 2) if scores else None


def decide_financing(application: FinancingApplication, by: User, cmd: FinancingDecision) -> FinancingApplication:
    """The addressee's staff decide after at least one scored review; the founders are mailed."""
    _require_open(application)
    if not application.reviews:
        raise Conflict(_("Score the application first: a decision needs at least one review."),
                       {"reviews": [_("none yet")]})
    decision = cmd.decision
    application.status = decision
    application.decision_note = cmd.note
    application.decided_by_id = by.id
    application.decided_at = utcnow()
    db.session.flush()
    audit.record("financing.decided", application, actor_id=by.id, before={"status": FinancingStatus.SUBMITTED},
                 after={"status": decision, "reviews": len(application.reviews)})
    project = application.project
    fund = application.organisation.name if application.organisation else None
    link = external_url("funding.financing_index")
    send_to_users(_founders(project), lambda: (
        _("Financing decision for %(project)s: %(status)s", project=project.title,
          status=STATUS_LABELS[decision]),
        _("%(fund)s decided on your financing application for %(project)s: %(status)s.\n\n%(note)s\n\n%(link)s",
          fund=fund or _("The platform's fund"), project=project.title, status=STATUS_LABELS[decision],
          note=application.decision_note, link=link)), kind="financing.decision", link=link)
    return application
