"""HTML pages of funding: financing."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from funding import financing
from funding.forms import (
    FinancingDecisionForm,
    FinancingForm,
    FinancingReviewForm,
)
from funding.models import (
    FinancingApplication,
)
from funding.schemas import FinancingDecision, FinancingRequest, FinancingReviewIn
from funding.views.common import (
    bp,
    show_errors,
)
from incubation.models import Project
from portal.db import attempt
from portal.errors import PortalError, ValidationFailed
from portal.extensions import db
from portal.permissions import Permission, can, load
from portal.schemas import from_form

# ---- financing -------------------------------------------------------------------------------

@bp.route("/financing/", methods=["GET", "POST"])
@login_required
def financing_index():
    from incubation.services import member_organisation_ids

    projects = db.session.scalars(select(Project).where(Project.organisation_id.in_(
        member_organisation_ids(current_user) or [0])).order_by(Project.title)).all()
    form = FinancingForm()
    addressees = financing.addressable_organisations()
    if request.method == "POST" and request.form.get("project_id"):
        load(Project, request.form["project_id"], Permission.EDIT)  # someone else's project: 403 before anything
    if form.validate_on_submit():
        try:
            project = load(Project, form.project_id.data, Permission.EDIT)
            organisation = next((o for o in addressees if o.id == form.organisation_id.data), None)
            if form.organisation_id.data and organisation is None:
                raise ValidationFailed.field("organisation_id", _("Choose a verified company or fund."))
            amount = {"amount": form.amount.form.amount.data or 0, "currency": form.amount.form.currency.data or "CNY"}
            with attempt():
                financing.apply_for_financing(project, current_user,
                                              from_form(FinancingRequest, form, amount=amount), organisation)
        except PortalError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Application sent. You will get a mail when it is decided."), "success")
            return redirect(url_for("funding.financing_index"))
    page = db.paginate(financing.visible_financing(current_user), page=request.args.get("page", 1, type=int),
                       per_page=20, error_out=False)
    return render_template("funding/financing.html", form=form, projects=projects, applications=page.items,
                           page=page, addressees=addressees, review_form=FinancingReviewForm(prefix="review"),
                           decision_form=FinancingDecisionForm(prefix="decide"),
                           criteria=financing.FINANCING_CRITERIA, criterion_labels=financing.CRITERION_LABELS,
                           status_labels=financing.STATUS_LABELS,
                           recommendation_labels=financing.RECOMMENDATION_LABELS,
                           average_score=financing.average_score,
                           can_decide=lambda a: can(current_user, Permission.MANAGE, a))


@bp.post("/financing/<int:application_id>/review")
@login_required
def financing_review(application_id: int):
    application = load(FinancingApplication, application_id, Permission.MANAGE)
    form = FinancingReviewForm(prefix="review")
    if form.validate_on_submit():
        try:
            with attempt():
                financing.review_financing(application, current_user,
                                           from_form(FinancingReviewIn, form, scores=form.scores()))
        except PortalError as error:
            flash(error.message, "danger")
        else:
            flash(_("Review saved."), "success")
    else:
        flash(_("Give every score from 0 to 5 and a recommendation."), "danger")
    return redirect(url_for("funding.financing_index", _anchor=f"financing-{application.id}"))


@bp.post("/financing/<int:application_id>/decision")
@login_required
def financing_decide(application_id: int):
    application = load(FinancingApplication, application_id, Permission.MANAGE)
    form = FinancingDecisionForm(prefix="decide")
    if form.validate_on_submit():
        try:
            with attempt():
                financing.decide_financing(application, current_user, from_form(FinancingDecision, form))
        except PortalError as error:
            flash(error.message, "danger")
        else:
            flash(_("Decision recorded."), "success")
    else:
        flash(_("Choose a decision and write a note."), "danger")
    return redirect(url_for("funding.financing_index", _anchor=f"financing-{application.id}"))
