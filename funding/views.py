"""HTML pages of funding: campaigns, pledging, the backer's pledge, the public ledger, the team's tools,
financing applications, and the Stripe webhook endpoint. Thin: rules live in services/settlement."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from funding import financing, ledger, refunds, services, settlement
from funding.forms import (
    CampaignForm,
    CardForm,
    CommentForm,
    FinancingDecisionForm,
    FinancingForm,
    FinancingReviewForm,
    MediaForm,
    PledgePageForm,
    RefundForm,
    RewardForm,
    StretchGoalForm,
    SurveyForm,
    UpdateForm,
    parse_date,
    to_minor,
)
from funding.models import (
    Campaign,
    CampaignComment,
    CampaignStatus,
    FinancingApplication,
    FundingModel,
    Pledge,
    PledgeStatus,
    Reward,
)
from funding.payments import ProviderUnavailable, construct_event, get_provider
from funding.policies import REFUND_BACKER
from incubation.models import Project
from portal.auth.forms import EmptyForm
from portal.errors import PortalError, ValidationFailed
from portal.exports import csv_download
from portal.extensions import csrf, db
from portal.forms import attach_errors
from portal.jobs import enqueue
from portal.permissions import Permission, can, load
from portal.uploads import IMAGES, send_stored, store_upload

log = logging.getLogger(__name__)

bp = Blueprint("funding", __name__, template_folder="templates", static_folder="static",
               static_url_path="/funding/static")

FUNDING_MODEL_LABELS = {
    FundingModel.ALL_OR_NOTHING: _l("All or nothing"),
    FundingModel.KEEP_IT_ALL: _l("Keep it all"),
}
CAMPAIGN_STATUS_LABELS = {
    CampaignStatus.DRAFT: _l("Draft"),
    CampaignStatus.SUBMITTED: _l("Awaiting approval"),
    CampaignStatus.LIVE: _l("Live"),
    CampaignStatus.SUCCESSFUL: _l("Successful"),
    CampaignStatus.FAILED: _l("Not funded"),
    CampaignStatus.FULFILLED: _l("Fulfilled"),
    CampaignStatus.CANCELLED: _l("Cancelled"),
}
PLEDGE_STATUS_LABELS = {
    PledgeStatus.ACTIVE: _l("Active"),
    PledgeStatus.CANCELLED: _l("Cancelled"),
    PledgeStatus.COLLECTED: _l("Collected"),
    PledgeStatus.ERRORED: _l("Payment failed"),
    PledgeStatus.NEEDS_AUTHENTICATION: _l("Authentication required"),
    PledgeStatus.DROPPED: _l("Dropped"),
    PledgeStatus.RELEASED: _l("Released"),
    PledgeStatus.REFUNDED: _l("Refunded"),
    PledgeStatus.DISPUTED: _l("Disputed"),
}
LEDGER_LABELS = {
    "pledged": _l("Pledged (gross)"), "collected": _l("Collected"), "dropped": _l("Dropped"),
    "refunded": _l("Refunded"), "fees": _l("Fees"), "net": _l("Net"),
}
STRIPE_JS = "https://js.stripe.com/v3/"


def progress_percent(pledged: int, goal: int) -> int:
    """Whole percent of the goal reached, for the progress bar (integer arithmetic, no floats)."""
    return (pledged * 100) // goal if goal > 0 else 0


# Template globals rather than a context processor: imported macros see globals, not the context.
TEMPLATE_GLOBALS = {"funding_labels": {"funding_model": FUNDING_MODEL_LABELS, "status": CAMPAIGN_STATUS_LABELS,
                                       "pledge": PLEDGE_STATUS_LABELS},
                    "progress_percent": progress_percent}


def _stripe_mode() -> bool:
    return get_provider().name == "stripe"


def _with_stripe_csp(response):
    """Pages that mount Stripe's Payment Element may load Stripe.js (the one external asset, keys only)."""
    response = current_app.make_response(response)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: https://*.stripe.com; style-src 'self' 'unsafe-inline'; "
        "script-src 'self' https://js.stripe.com; frame-src https://js.stripe.com https://hooks.stripe.com; "
        "connect-src 'self' https://api.stripe.com; frame-ancestors 'none'; form-action 'self'; base-uri 'self'")
    return response


# ---- campaigns -------------------------------------------------------------------------------

@bp.get("/campaigns/")
def campaign_index():
    campaigns = db.session.scalars(services.live_campaigns_stmt()).all()
    return render_template("funding/campaign_index.html", campaigns=campaigns,
                           totals=services.totals_for(c.id for c in campaigns))


@bp.get("/campaigns/<int:campaign_id>")
def campaign_detail(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    pledged, backers = campaign.totals()
    team = can(current_user, Permission.MANAGE, campaign)
    mine = []
    if current_user.is_authenticated:
        mine = list(db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign.id,
                                                            Pledge.backer_id == current_user.id)
                                       .order_by(Pledge.id.desc())))
    return render_template("funding/campaign_detail.html", campaign=campaign, pledged=pledged, backers=backers,
                           claimed=services.claimed_per_reward(campaign), team=team, my_pledges=mine,
                           stretch_goals=services.stretch_goals(campaign),
                           updates=services.updates_for(campaign, current_user, team),
                           comments=services.comments_for(campaign), comment_form=CommentForm(),
                           action_form=EmptyForm(), match_funds=services.match_funds(campaign),
                           own_campaign=services.own_campaign_reason(campaign, current_user),
                           is_admin=current_user.is_authenticated and current_user.is_admin,
                           settlement_state=settlement.settlement_state(campaign) if team else None)


@bp.get("/campaigns/<int:campaign_id>/media")
def campaign_media(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    if campaign.media_id is None:
        return redirect(url_for("funding.campaign_detail", campaign_id=campaign.id))
    from portal.uploads import StoredFile

    return send_stored(db.session.get(StoredFile, campaign.media_id), as_attachment=False)


@bp.route("/campaigns/new", methods=["GET", "POST"])
@login_required
def campaign_new():
    form = CampaignForm()
    from incubation.services import member_organisation_ids

    projects = db.session.scalars(select(Project).where(Project.organisation_id.in_(
        member_organisation_ids(current_user) or [0])).order_by(Project.title)).all()
    if request.method == "GET" and request.args.get("project_id", "").isdigit():
        form.project_id.data = int(request.args["project_id"])
    eligible = {p.id for p in projects if services.crowdfunding_gate_failure(p) is None}
    status = 200
    if request.method == "POST" and request.form.get("project_id"):
        load(Project, request.form["project_id"], Permission.EDIT)  # someone else's project: 403 before anything
    if form.validate_on_submit():
        try:
            project = load(Project, form.project_id.data, Permission.EDIT)
            currency = (form.goal.form.currency.data or "CNY").upper()
            campaign = services.create_campaign(
                project, title=form.title.data, goal_amount=form.goal.form.amount.data or 0, currency=currency,
                deadline=form.deadline.data, funding_model=form.funding_model.data or FundingModel.ALL_OR_NOTHING,
                story=form.story.data or "")
        except PortalError as error:
            db.session.rollback()
            attach_errors(form, error)
            status = error.status
        else:
            flash(_("Draft campaign created. Add reward tiers, then submit it for approval."), "success")
            return redirect(url_for("funding.campaign_manage", campaign_id=campaign.id))
    elif request.method == "POST":
        status = 400
    return render_template("funding/campaign_form.html", form=form, projects=projects, eligible=eligible), status


@bp.route("/campaigns/<int:campaign_id>/manage", methods=["GET", "POST"])
@login_required
def campaign_manage(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.MANAGE)
    reward_form, stretch_form, update_form, media_form = (RewardForm(prefix="reward"), StretchGoalForm(prefix="goal"),
                                                          UpdateForm(prefix="update"), MediaForm(prefix="media"))
    action = request.form.get("action")
    try:
        if action == "reward" and reward_form.validate_on_submit():
            delivery = parse_date(reward_form.estimated_delivery.data)
            fees = _parse_fees(request.form.get("shipping_fees", ""), campaign.currency)
            services.add_reward(campaign, title=reward_form.title.data, amount=reward_form.amount.data,
                                quantity=reward_form.quantity.data, description=reward_form.description.data or "",
                                estimated_delivery=delivery, shipping_fees=fees, variants=reward_form.variants.data)
            flash(_("Reward added."), "success")
        elif action == "goal" and stretch_form.validate_on_submit():
            services.add_stretch_goal(campaign, amount=stretch_form.amount.data, title=stretch_form.title.data,
                                      description=stretch_form.description.data or "")
            flash(_("Stretch goal added."), "success")
        elif action == "update" and update_form.validate_on_submit():
            services.post_update(campaign, current_user, title=update_form.title.data, body=update_form.body.data,
                                 backers_only=update_form.backers_only.data)
            flash(_("Update posted."), "success")
        elif action == "media" and media_form.validate_on_submit():
            stored = store_upload(media_form.file.data, field="file", kinds=IMAGES, max_bytes=5 * 1024 * 1024,
                                  uploaded_by_id=current_user.id)
            services.set_media(campaign, stored.id)
            flash(_("Image saved."), "success")
        elif action in ("submit", "cancel", "fulfil") and EmptyForm().validate_on_submit():
            {"submit": services.submit_campaign, "cancel": services.cancel_campaign,
             "fulfil": services.mark_fulfilled}[action](campaign)
            flash(_("Saved."), "success")
        else:
            action = None
    except PortalError as error:
        db.session.rollback()
        attach_errors({"reward": reward_form, "goal": stretch_form, "update": update_form,
                       "media": media_form}.get(action, reward_form), error)
        return render_template("funding/campaign_manage.html", campaign=campaign, reward_form=reward_form,
                               stretch_form=stretch_form, update_form=update_form, media_form=media_form,
                               action_form=EmptyForm(), stretch_goals=services.stretch_goals(campaign),
                               refundable=services.refundable_pledges(campaign), refund_form=RefundForm()), 400
    if action:
        return redirect(url_for("funding.campaign_manage", campaign_id=campaign.id))
    return render_template("funding/campaign_manage.html", campaign=campaign, reward_form=reward_form,
                           stretch_form=stretch_form, update_form=update_form, media_form=media_form,
                           action_form=EmptyForm(), stretch_goals=services.stretch_goals(campaign),
                               refundable=services.refundable_pledges(campaign), refund_form=RefundForm())


def _parse_fees(text: str, currency: str) -> dict[str, int]:
    """'CN=0, ASIA=50.00' (major units) -> {"CN": 0, "ASIA": 5000}."""
    fees = {}
    for part in (text or "").replace("，", ",").split(","):
        if not part.strip():
            continue
        region, _sep, amount = part.partition("=")
        if not _sep:
            raise ValidationFailed.field("shipping_fees", _("Write shipping fees like CN=0, WORLD=120.00."))
        fees[region.strip()] = to_minor(amount, currency, "shipping_fees") or 0
    return fees


@bp.post("/campaigns/<int:campaign_id>/approve")
@login_required
def campaign_approve(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.ADMIN)
    if EmptyForm().validate_on_submit():
        try:
            services.approve_campaign(campaign)
        except PortalError as error:
            flash(error.message, "danger")
        else:
            flash(_("The campaign is live."), "success")
    return redirect(url_for("funding.campaign_detail", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/settle")
@login_required
def campaign_settle(campaign_id: int):
    """Admins: close the campaign now and charge its pledges, as a background job (the same code as the CLI)."""
    campaign = load(Campaign, campaign_id, Permission.ADMIN)
    if EmptyForm().validate_on_submit():
        if campaign.status not in (CampaignStatus.LIVE, CampaignStatus.SUCCESSFUL) or campaign.settled_at:
            flash(_("This campaign has nothing to settle."), "info")
        elif settlement.request_settlement(campaign):
            flash(_("Settlement started. This page shows when it is done."), "info")
        else:
            flash(_("Settlement of this campaign is already running."), "info")
    return redirect(url_for("funding.campaign_detail", campaign_id=campaign_id))


@bp.post("/campaigns/<int:campaign_id>/comments")
@login_required
def comment_create(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    form = CommentForm()
    if form.validate_on_submit():
        parent = db.session.get(CampaignComment, form.parent_id.data) if form.parent_id.data else None
        try:
            services.post_comment(campaign, current_user, form.body.data, is_question=form.is_question.data,
                                  parent=parent)
        except PortalError as error:
            flash(error.message, "danger")
    return redirect(url_for("funding.campaign_detail", campaign_id=campaign.id) + "#comments")


@bp.get("/campaigns/<int:campaign_id>/ledger")
def campaign_ledger(campaign_id: int):
    """The public transparency page: gross, dropped, refunded, fees and net, with a chart and every entry."""
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    figures = ledger.totals(campaign)
    labels = {k: str(v) for k, v in LEDGER_LABELS.items()}
    return render_template("funding/ledger.html", campaign=campaign, figures=figures,
                           entries=ledger.entries(campaign), uses_charts=True,
                           chart=ledger.chart_config(campaign, figures, labels),
                           team=can(current_user, Permission.MANAGE, campaign))


@bp.get("/campaigns/<int:campaign_id>/backers.csv")
@login_required
def backers_csv(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.MANAGE)
    return csv_download(ledger.backers_csv(campaign), f"campaign-{campaign.id}-backers.csv")


@bp.get("/campaigns/<int:campaign_id>/ledger.csv")
@login_required
def ledger_csv(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.MANAGE)
    return csv_download(ledger.ledger_csv(campaign), f"campaign-{campaign.id}-ledger.csv")


# ---- pledges ---------------------------------------------------------------------------------

@bp.post("/campaigns/<int:campaign_id>/pledges/<int:pledge_id>/refund")
@login_required
def pledge_team_refund(campaign_id: int, pledge_id: int):
    """The campaign's team gives a backer's money back (all, or the amount given), through the provider."""
    pledge = load(Pledge, pledge_id, REFUND_BACKER)
    if pledge.campaign_id != campaign_id:
        abort(404)
    form = RefundForm()
    if form.validate_on_submit():
        try:
            refunds.refund_pledge(pledge.id, form.amount.data, by_team=not current_user.is_admin)
        except PortalError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            flash(_("Refund sent. The backer gets a mail."), "success")
    else:
        flash(_("Give a valid amount, or leave it empty to refund everything."), "danger")
    return redirect(url_for("funding.campaign_manage", campaign_id=campaign_id) + "#refunds")


def _reward_choices(campaign: Campaign, claimed: dict[int, int]) -> list[tuple[str, str]]:
    from portal.money import format_money

    choices = [("", str(_("No reward, I just want to support the project")))]
    for reward in campaign.rewards:
        left = "" if reward.quantity is None else " · " + _("%(left)s left", left=max(
            0, reward.quantity - claimed.get(reward.id, 0)))
        choices.append((str(reward.id), f"{reward.title} ({format_money(reward.amount, campaign.currency)}+){left}"))
    return choices


@bp.route("/campaigns/<int:campaign_id>/pledge", methods=["GET", "POST"])
@login_required
def pledge_new(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    form = PledgePageForm()
    form.reward_id.choices = _reward_choices(campaign, services.claimed_per_reward(campaign))
    regions = sorted({region for r in campaign.rewards for region in (r.shipping_fees or {})})
    form.shipping_region.choices = [("", "—")] + [(r, r) for r in regions]
    if request.method == "GET" and request.args.get("reward"):
        form.reward_id.data = request.args["reward"]
    status = 200
    if form.validate_on_submit():
        try:
            reward = None
            if form.reward_id.data:
                reward = db.session.get(Reward, int(form.reward_id.data))
            amount = to_minor(form.amount.data, campaign.currency)
            pledge = services.place_pledge(campaign, current_user, amount, reward,
                                           payment_method=form.payment_method.data,
                                           setup_intent=form.setup_intent.data or None,
                                           shipping_region=form.shipping_region.data or None)
        except PortalError as error:
            db.session.rollback()
            attach_errors(form, error)
            status = error.status
        else:
            flash(_("Thank you! Your pledge is active. Your card is charged only when the campaign succeeds."),
                  "success")
            return redirect(url_for("funding.pledge_detail", pledge_id=pledge.id))
    elif request.method == "POST":
        status = 400
    setup = None
    if _stripe_mode() and campaign.status == CampaignStatus.LIVE:
        try:
            provider = get_provider()
            setup = provider.create_setup_intent(services.backer_customer(current_user, provider))
        except ProviderUnavailable:
            flash(_("The payment provider could not be reached. Try again in a moment."), "danger")
    response = render_template("funding/pledge_form.html", campaign=campaign, form=form, setup=setup,
                               own_campaign=services.own_campaign_reason(campaign, current_user),
                               stripe_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY"),
                               stripe_js=STRIPE_JS if setup else None), status
    return _with_stripe_csp(response) if setup else response


@bp.route("/pledges/<int:pledge_id>", methods=["GET", "POST"])
@login_required
def pledge_detail(pledge_id: int):
    pledge = load(Pledge, pledge_id, Permission.VIEW)
    campaign = pledge.campaign
    card_form = CardForm(prefix="card")
    survey_form = SurveyForm(prefix="survey", data=pledge.survey_answers or None)
    variants = pledge.reward.variants if pledge.reward else []
    survey_form.variant.choices = [(v, v) for v in variants]
    refund_form = RefundForm(prefix="refund")
    action = request.form.get("action")
    status = 200
    if request.method == "POST":
        try:
            if action == "card" and card_form.validate_on_submit():
                services.change_card(pledge, payment_method=card_form.payment_method.data,
                                     setup_intent=card_form.setup_intent.data or None)
                if pledge.status in (PledgeStatus.ERRORED, PledgeStatus.NEEDS_AUTHENTICATION):
                    enqueue("funding.tasks.retry_pledge", pledge.id)
                flash(_("Card saved."), "success")
            elif action == "cancel" and EmptyForm().validate_on_submit():
                services.cancel_pledge(pledge)
                flash(_("Your pledge is cancelled."), "info")
            elif action == "survey" and survey_form.validate_on_submit():
                services.answer_survey(pledge, {f.short_name: f.data for f in survey_form})
                flash(_("Thank you, we have your answers."), "success")
            elif action == "refund" and refund_form.validate_on_submit():
                load(Pledge, pledge_id, Permission.ADMIN)
                refunds.refund_pledge(pledge.id, refund_form.amount.data)
                flash(_("Refund sent."), "success")
            else:
                status = 400
        except PortalError as error:
            db.session.rollback()
            flash(error.message, "danger")
            status = error.status
        if status == 200:
            return redirect(url_for("funding.pledge_detail", pledge_id=pledge.id))
    return render_template("funding/pledge_detail.html", pledge=pledge, campaign=campaign, card_form=card_form,
                           survey_form=survey_form, refund_form=refund_form, action_form=EmptyForm(),
                           attempts=pledge.attempts, is_admin=current_user.is_admin,
                           needs_card=services.needs_card(pledge)), status


@bp.route("/pledges/<int:pledge_id>/authenticate", methods=["GET", "POST"])
@login_required
def pledge_authenticate(pledge_id: int):
    """The backer finishes 3-D Secure on-session for the PaymentIntent that needed it (no new charge)."""
    pledge = load(Pledge, pledge_id, Permission.EDIT)
    attempt = next((a for a in reversed(pledge.attempts) if a.status == "requires_action"), None)
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        pledge_ref = pledge.id
        db.session.rollback()
        outcome = settlement.complete_authentication(pledge_ref)
        if outcome == PledgeStatus.COLLECTED:
            flash(_("Payment confirmed. Thank you!"), "success")
        else:
            flash(_("The payment is not confirmed yet (%(status)s).", status=outcome), "warning")
        return redirect(url_for("funding.pledge_detail", pledge_id=pledge_ref))
    client_secret = None
    if _stripe_mode() and attempt is not None and attempt.payment_ref:
        try:
            client_secret = get_provider().retrieve_payment(attempt.payment_ref).client_secret
        except ProviderUnavailable:
            flash(_("The payment provider could not be reached. Try again in a moment."), "danger")
    response = render_template("funding/pledge_authenticate.html", pledge=pledge, attempt=attempt, form=form,
                               client_secret=client_secret, stripe_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY"),
                               stripe_js=STRIPE_JS if client_secret else None)
    return _with_stripe_csp(response) if client_secret else response


# What a backer reads in their pledge's history, by audit action (status changes use the status label).
HISTORY_LABELS = {
    "pledge.created": _l("Pledged"),
    "pledge.changed": _l("Pledge changed"),
    "pledge.card_changed": _l("Card changed"),
    "pledge.card_saved": _l("Card saved"),
    "pledge.card_setup_failed": _l("Card could not be saved"),
    "pledge.retry": _l("Charged again with the new card"),
    "pledge.partially_refunded": _l("Partly refunded"),
    "pledge.refund_requested": _l("Refund requested"),
    "pledge.refund_failed": _l("Refund failed"),
    "pledge.survey_answered": _l("Survey answered"),
}


def history_label(event) -> str:
    after = event.after or {}
    if event.action in HISTORY_LABELS:
        return str(HISTORY_LABELS[event.action])
    if after.get("status") in PLEDGE_STATUS_LABELS:
        return str(PLEDGE_STATUS_LABELS[after["status"]])
    return event.action


@bp.get("/pledges/")
@login_required
def pledge_index():
    """The backer's pledges, each with its history, so a failed or dropped pledge is never a surprise."""
    pledges = services.pledges_of(current_user)
    return render_template("funding/pledge_index.html", pledges=pledges,
                           histories=services.pledge_histories(pledges), history_label=history_label,
                           grace=settlement.GRACE_PERIOD)


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
            currency = (form.amount.form.currency.data or "CNY").upper()
            financing.apply_for_financing(project, current_user, amount=form.amount.form.amount.data or 0,
                                          currency=currency, use_of_funds=form.use_of_funds.data,
                                          terms=form.terms.data, organisation=organisation)
        except PortalError as error:
            db.session.rollback()
            attach_errors(form, error)
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
            financing.review_financing(application, current_user, form.scores(), form.recommendation.data,
                                       form.comment.data or "")
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
            financing.decide_financing(application, current_user, form.decision.data, form.note.data)
        except PortalError as error:
            flash(error.message, "danger")
        else:
            flash(_("Decision recorded."), "success")
    else:
        flash(_("Choose a decision and write a note."), "danger")
    return redirect(url_for("funding.financing_index", _anchor=f"financing-{application.id}"))


# ---- Stripe webhooks -------------------------------------------------------------------------

@bp.post("/funding/stripe/webhook")
@csrf.exempt
def stripe_webhook():
    """Verified on the raw body; duplicates and unknown types are answered 200."""
    from funding.webhooks import handle_event

    payload = request.get_data(cache=False)
    try:
        event = construct_event(payload, request.headers.get("Stripe-Signature"))
    except ValueError as error:
        log.warning("stripe webhook refused: %s", error)
        return jsonify({"error": {"code": "validation_error", "message": "invalid signature or payload"}}), 400
    outcome = handle_event(event)
    return jsonify({"received": True, "outcome": outcome})
