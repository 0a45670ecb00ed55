"""HTML pages of funding: pledges."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from funding import community, refunds, services, settlement
from funding.forms import (
    CardForm,
    PledgePageForm,
    RefundForm,
    SurveyForm,
    to_minor,
)
from funding.models import (
    Campaign,
    CampaignStatus,
    Pledge,
    PledgeStatus,
)
from funding.payments import ProviderUnavailable, get_provider
from funding.policies import REFUND_BACKER
from funding.schemas import CardChange, NewPledge, RefundRequest, SurveyAnswers
from funding.views.common import (
    PLEDGE_STATUS_LABELS,
    STRIPE_JS,
    bp,
    show_errors,
    stripe_mode,
    with_stripe_csp,
)
from portal.auth.forms import EmptyForm
from portal.errors import PortalError
from portal.extensions import db
from portal.jobs import enqueue
from portal.permissions import Permission, load
from portal.schemas import from_form

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
            refunds.refund_pledge(pledge.id, from_form(RefundRequest, form), by_team=not current_user.is_admin)
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
            cmd = from_form(NewPledge, form, amount=to_minor(form.amount.data, campaign.currency),
                            reward_id=int(form.reward_id.data) if form.reward_id.data else None,
                            shipping_region=form.shipping_region.data or None)
            pledge = services.place_pledge(campaign, current_user, cmd)
        except PortalError as error:
            db.session.rollback()
            show_errors(form, error)
            status = error.status
        else:
            flash(_("Thank you! Your pledge is active. Your card is charged only when the campaign succeeds."),
                  "success")
            return redirect(url_for("funding.pledge_detail", pledge_id=pledge.id))
    elif request.method == "POST":
        status = 400
    setup = None
    if stripe_mode() and campaign.status == CampaignStatus.LIVE:
        try:
            setup = services.start_card_setup(current_user)  # no transaction open during the provider calls
        except ProviderUnavailable:
            flash(_("The payment provider could not be reached. Try again in a moment."), "danger")
    response = render_template("funding/pledge_form.html", campaign=campaign, form=form, setup=setup,
                               own_campaign=services.own_campaign_reason(campaign, current_user),
                               stripe_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY"),
                               stripe_js=STRIPE_JS if setup else None), status
    return with_stripe_csp(response) if setup else response


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
                services.change_card(pledge, from_form(CardChange, card_form))
                if pledge.status in (PledgeStatus.ERRORED, PledgeStatus.NEEDS_AUTHENTICATION):
                    enqueue("funding.tasks.retry_pledge", pledge.id)
                flash(_("Card saved."), "success")
            elif action == "cancel" and EmptyForm().validate_on_submit():
                services.cancel_pledge(pledge)
                flash(_("Your pledge is cancelled."), "info")
            elif action == "survey" and survey_form.validate_on_submit():
                community.answer_survey(pledge, from_form(SurveyAnswers, survey_form))
                flash(_("Thank you, we have your answers."), "success")
            elif action == "refund" and refund_form.validate_on_submit():
                load(Pledge, pledge_id, Permission.ADMIN)
                refunds.refund_pledge(pledge.id, from_form(RefundRequest, refund_form))
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
    if stripe_mode() and attempt is not None and attempt.payment_ref:
        try:
            client_secret = get_provider().retrieve_payment(attempt.payment_ref).client_secret
        except ProviderUnavailable:
            flash(_("The payment provider could not be reached. Try again in a moment."), "danger")
    response = render_template("funding/pledge_authenticate.html", pledge=pledge, attempt=attempt, form=form,
                               client_secret=client_secret, stripe_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY"),
                               stripe_js=STRIPE_JS if client_secret else None)
    return with_stripe_csp(response) if client_secret else response


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
