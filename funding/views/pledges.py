"""HTML pages of funding: pledges."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision
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
from funding.payments import SANDBOX_CARDS, ProviderUnavailable, get_provider
from funding.policies import REFUND_BACKER
from funding.schemas import CardChange, NewPledge, PledgeChange, RefundRequest, SurveyAnswers
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
    form.amount.currency = pledge.campaign.currency
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


def _reward_choices(campaign: Campaign, claimed: dict[int, int]) -> list[tuple]:
    """The reward options; each carries its minimum in major units (`data-amount`), which the page's script
    puts into the amount field (a select with `data-fill-amount`) when the reward is chosen."""
    from portal.money import format_money, major_text

    choices = [("", str(_("No reward, I just want to support the project")))]
    for reward in campaign.rewards:
        left = "" if reward.quantity is None else " · " + _("%(left)s left", left=max(
            0, reward.quantity - claimed.get(reward.id, 0)))
        choices.append((str(reward.id), f"{reward.title} ({format_money(reward.amount, campaign.currency)}+){left}",
                        {"data-amount": major_text(reward.amount, campaign.currency)}))
    return choices


def sandbox_needs_authentication(card: str | None) -> bool:
    """The sandbox's 3-D Secure test card (4000002500003155)."""
    entry = SANDBOX_CARDS.get((card or "").replace(" ", ""))
    return entry is not None and entry[0] == "pm_sandbox_authentication_required"


def active_pledges_to(campaign: Campaign) -> list[Pledge]:
    """The current user's pledges to `campaign` that may still be changed: a second pledge offers these."""
    return [p for p in services.pledges_of(current_user)
            if p.campaign_id == campaign.id and p.status == PledgeStatus.ACTIVE]


def change_form_for(pledge: Pledge) -> PledgePageForm:
    """The pledge page's form, to change reward, amount and region of an active pledge."""
    campaign = pledge.campaign
    form = PledgePageForm(prefix="change")
    if hasattr(form.amount, "currency"):  # a MoneyField (major units on the page, minor units as data)
        form.amount.currency = campaign.currency
    form.reward_id.choices = _reward_choices(campaign, services.claimed_per_reward(campaign))
    regions = sorted({region for r in campaign.rewards for region in (r.shipping_fees or {})})
    form.shipping_region.choices = [("", "—")] + [(r, r) for r in regions]
    if request.form.get("action") != "change":  # otherwise the values as posted
        places = get_currency_precision(campaign.currency)
        form.reward_id.data = str(pledge.reward_id) if pledge.reward_id else ""
        form.amount.data = pledge.amount if hasattr(form.amount, "currency") else str(
            Decimal(pledge.amount).scaleb(-places).quantize(Decimal(1).scaleb(-places)))
        form.shipping_region.data = pledge.shipping_region or ""
    return form


@bp.route("/campaigns/<int:campaign_id>/pledge", methods=["GET", "POST"])
@login_required
def pledge_new(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    form = PledgePageForm()
    form.amount.currency = campaign.currency
    form.reward_id.render_kw = {"data-fill-amount": "#" + form.amount.id}
    form.reward_id.choices = _reward_choices(campaign, services.claimed_per_reward(campaign))
    regions = sorted({region for r in campaign.rewards for region in (r.shipping_fees or {})})
    form.shipping_region.choices = [("", "—")] + [(r, r) for r in regions]
    if request.method == "GET" and request.args.get("reward"):
        form.reward_id.data = request.args["reward"]
        chosen = next((r for r in campaign.rewards if str(r.id) == form.reward_id.data), None)
        if chosen is not None and form.amount.data is None:
            form.amount.data = chosen.amount  # minor units, shown as "1299.00"
    status = 200
    step = request.form.get("sandbox_3ds") if request.method == "POST" else None
    if (form.validate_on_submit() and not stripe_mode() and step is None
            and sandbox_needs_authentication(form.payment_method.data)):
        # The sandbox's 3-D Secure card: the bank's check comes first, as Stripe.js would show it.
        return render_template("funding/pledge_sandbox_3ds.html", campaign=campaign, form=form,
                               posted={name: request.form.get(name, "") for name in (
                                   "reward_id", "amount", "shipping_region", "payment_method")})
    if request.method == "POST" and step == "fail":
        form.payment_method.errors = [_("Your bank did not confirm the card (sandbox 3-D Secure failed). "
                                        "Try again or use another card.")]
        status = 400
    elif form.validate_on_submit():
        try:
            cmd = from_form(NewPledge, form, reward_id=int(form.reward_id.data) if form.reward_id.data else None,
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
                               existing=active_pledges_to(campaign),
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
    refund_form.amount.currency = campaign.currency
    change_form = change_form_for(pledge)
    action = request.form.get("action")
    status = 200
    if request.method == "POST":
        try:
            if action == "card" and card_form.validate_on_submit():
                services.change_card(pledge, from_form(CardChange, card_form))
                if pledge.status in (PledgeStatus.ERRORED, PledgeStatus.NEEDS_AUTHENTICATION):
                    enqueue("funding.tasks.retry_pledge", pledge.id)
                flash(_("Card saved."), "success")
            elif action == "change" and change_form.validate_on_submit():
                services.update_pledge(pledge, from_form(
                    PledgeChange, change_form, amount=to_minor(change_form.amount.data, campaign.currency),
                    reward_id=int(change_form.reward_id.data) if change_form.reward_id.data else None,
                    shipping_region=change_form.shipping_region.data or None))
                flash(_("Pledge changed."), "success")
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
            if action == "change":
                show_errors(change_form, error)  # next to the field, the form as posted
            flash(error.message, "danger")
            status = error.status
        if status == 200:
            return redirect(url_for("funding.pledge_detail", pledge_id=pledge.id))
    return render_template("funding/pledge_detail.html", pledge=pledge, campaign=campaign, card_form=card_form,
                           survey_form=survey_form, refund_form=refund_form, action_form=EmptyForm(),
                           change_form=change_form,
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
        if request.form.get("outcome") == "fail" and not stripe_mode():
            # The sandbox's "authentication failed": nothing is charged, the pledge still waits for the backer.
            flash(_("Authentication failed (sandbox): nothing was charged. Confirm again, or save another card "
                    "below."), "warning")
            return redirect(url_for("funding.pledge_detail", pledge_id=pledge_ref) + "#card")
        db.session.rollback()
        outcome = settlement.complete_authentication(pledge_ref)
        if outcome == PledgeStatus.COLLECTED:
            flash(_("Payment confirmed. Thank you!"), "success")
        else:
            label = PLEDGE_STATUS_LABELS.get(outcome)
            flash(_("The payment is not confirmed yet (%(status)s).", status=label) if label else
                  _("The payment is not confirmed yet. Try again in a moment."), "warning")
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
