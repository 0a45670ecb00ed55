"""JSON API of funding: campaigns, rewards, pledges, ledger, updates, comments, financing. Thin: the
rules live in `funding.services` and `funding.settlement`, shared with the HTML views."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from funding import financing, ledger, refunds, services, settlement
from funding.forms import (
    CampaignForm,
    CardForm,
    CommentForm,
    FinancingDecisionForm,
    FinancingForm,
    MatchFundForm,
    PledgeForm,
    RefundForm,
    RewardForm,
    StretchGoalForm,
    SurveyForm,
    UpdateForm,
    parse_date,
)
from funding.models import (
    Campaign,
    CampaignComment,
    CampaignStatus,
    CampaignUpdate,
    FinancingApplication,
    LedgerEntry,
    Pledge,
    Reward,
)
from funding.payments import ProviderUnavailable, get_provider
from funding.policies import REFUND_BACKER
from incubation.models import Project
from portal.api import api_blueprint, doc, iso, json_body, money, paginate, parse, require_login
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.jobs import enqueue
from portal.organisations.models import Organisation
from portal.permissions import Permission, can, load

bp = api_blueprint("funding_api", __name__)


def reward_json(reward: Reward, claimed: int) -> dict:
    return {
        "id": reward.id,
        "title": reward.title,
        "description": reward.description,
        "amount": reward.amount,
        "quantity": reward.quantity,
        "remaining": None if reward.quantity is None else max(0, reward.quantity - claimed),
        "estimated_delivery": reward.estimated_delivery.isoformat() if reward.estimated_delivery else None,
        "shipping_fees": reward.shipping_fees or {},
        "variants": reward.variants or [],
    }


def campaign_json(campaign: Campaign, totals: tuple[int, int] | None = None, with_rewards: bool = False) -> dict:
    pledged, backers = totals if totals is not None else campaign.totals()
    data = {
        "id": campaign.id,
        "project_id": campaign.project_id,
        "title": campaign.title,
        "status": campaign.status,
        "goal": money(campaign.goal_amount, campaign.currency),
        "pledged": money(pledged, campaign.currency),
        "backers": backers,
        "deadline": iso(campaign.deadline),
        "funding_model": campaign.funding_model,
        "created_at": iso(campaign.created_at),
        "settled_at": iso(campaign.settled_at),
    }
    if with_rewards:
        claimed = services.claimed_per_reward(campaign)
        data["story"] = campaign.story
        data["rewards"] = [reward_json(r, claimed.get(r.id, 0)) for r in campaign.rewards]
        data["stretch_goals"] = [{"id": g.id, "amount": g.amount, "title": g.title, "reached": pledged >= g.amount}
                                 for g in services.stretch_goals(campaign)]
        data["match_funds"] = [{"organisation_id": f.organisation_id, "cap": f.cap}
                               for f in services.match_funds(campaign)]
    return data


def pledge_json(pledge: Pledge) -> dict:
    return {
        "id": pledge.id,
        "campaign_id": pledge.campaign_id,
        "status": pledge.status,
        "amount": pledge.amount,
        "currency": pledge.campaign.currency,
        "reward_id": pledge.reward_id,
        "extra_support": pledge.extra_support,
        "shipping_region": pledge.shipping_region,
        "shipping_fee": pledge.shipping_fee,
        "refunded": pledge.refunded_amount,
        "card": pledge.card_label,
        "created_at": iso(pledge.created_at),
        "collected_at": iso(pledge.collected_at),
        "survey_completed": pledge.survey_completed_at is not None,
    }


@bp.get("/campaigns")
@doc("List campaigns: public ones, plus drafts of your own organisations", auth=False,
     query={"status": "campaign status, e.g. live", "project_id": "only this project's campaigns"})
def campaign_list():
    stmt = services.visible_campaigns(current_user)
    status = request.args.get("status")
    if status:
        if status not in CampaignStatus.ALL:
            raise ValidationFailed.field("status", _("Choose one of: %(choices)s",
                                                     choices=", ".join(CampaignStatus.ALL)))
        stmt = stmt.where(Campaign.status == status)
    if request.args.get("project_id", "").isdigit():
        stmt = stmt.where(Campaign.project_id == int(request.args["project_id"]))
    stmt = stmt.order_by(Campaign.deadline, Campaign.id)
    # Totals for the whole page in one grouped query rather than one per campaign.
    page = paginate(stmt, lambda c: c)
    totals = services.totals_for(c.id for c in page["items"])
    page["items"] = [campaign_json(c, totals[c.id]) for c in page["items"]]
    return jsonify(page)


@bp.post("/campaigns")
@doc("Create a draft campaign for a project of your organisation (deadline 1 to 60 days ahead)", form=CampaignForm,
     responses={201: "Draft created"})
def campaign_create():
    require_login()
    form = parse(CampaignForm)
    project = load(Project, form.project_id.data, Permission.EDIT)
    goal = form.goal.form
    if goal.amount.data is None:
        raise ValidationFailed.field("goal", _("The goal must be more than zero."))
    campaign = services.create_campaign(project, title=form.title.data, goal_amount=goal.amount.data,
                                        currency=goal.currency.data or "CNY", deadline=form.deadline.data,
                                        funding_model=form.funding_model.data or "all_or_nothing",
                                        story=form.story.data or "")
    return jsonify(campaign_json(campaign, (0, 0))), 201


@bp.get("/campaigns/<int:campaign_id>")
@doc("One campaign with its goal, pledged total (active and collected pledges), backers and rewards", auth=False)
def campaign_get(campaign_id: int):
    return jsonify(campaign_json(load(Campaign, campaign_id, Permission.VIEW), with_rewards=True))


def _shipping_fees_from_body() -> dict:
    fees = json_body().get("shipping_fees") or {}
    if not isinstance(fees, dict):
        raise ValidationFailed.field("shipping_fees", _("Give an object of region: fee in minor units."))
    return fees


@bp.post("/campaigns/<int:campaign_id>/rewards")
@doc("Add a reward tier (team; before the campaign goes live). `shipping_fees`: {region: minor units}",
     form=RewardForm)
def reward_create(campaign_id: int):
    require_login()
    campaign = load(Campaign, campaign_id, Permission.EDIT)
    form = parse(RewardForm)
    delivery = parse_date(form.estimated_delivery.data)
    reward = services.add_reward(campaign, title=form.title.data, amount=form.amount.data,
                                 quantity=form.quantity.data, description=form.description.data or "",
                                 estimated_delivery=delivery, shipping_fees=_shipping_fees_from_body(),
                                 variants=form.variants.data)
    return jsonify(reward_json(reward, 0)), 201


@bp.post("/campaigns/<int:campaign_id>/stretch-goals")
@doc("Add a stretch goal above the goal (team)", form=StretchGoalForm)
def stretch_goal_create(campaign_id: int):
    require_login()
    campaign = load(Campaign, campaign_id, Permission.EDIT)
    form = parse(StretchGoalForm)
    goal = services.add_stretch_goal(campaign, amount=form.amount.data, title=form.title.data,
                                     description=form.description.data or "")
    return jsonify({"id": goal.id, "amount": goal.amount, "title": goal.title}), 201


@bp.post("/campaigns/<int:campaign_id>/submit")
@doc("Submit a draft campaign for approval (team)", responses={200: "Submitted", 409: "Not a draft"})
def campaign_submit(campaign_id: int):
    require_login()
    campaign = services.submit_campaign(load(Campaign, campaign_id, Permission.EDIT))
    return jsonify(campaign_json(campaign, (0, 0)))


@bp.post("/campaigns/<int:campaign_id>/approve")
@doc("Approve a submitted campaign: it goes live (platform admins)", responses={200: "Live", 409: "Not submitted"})
def campaign_approve(campaign_id: int):
    require_login()
    campaign = services.approve_campaign(load(Campaign, campaign_id, Permission.ADMIN))
    return jsonify(campaign_json(campaign))


@bp.post("/campaigns/<int:campaign_id>/cancel")
@doc("Cancel a campaign before it ends (team or admins); active pledges are released",
     responses={200: "Cancelled", 409: "Already ended"})
def campaign_cancel(campaign_id: int):
    require_login()
    campaign = services.cancel_campaign(load(Campaign, campaign_id, Permission.EDIT))
    return jsonify(campaign_json(campaign))


@bp.post("/campaigns/<int:campaign_id>/match-funds")
@doc("An anchor company matches pledges 1:1 up to a cap (owners of that company, or admins)", form=MatchFundForm,
     responses={409: "The company is not verified (`organisation_unverified`), or the campaign has ended"})
def match_fund_create(campaign_id: int):
    require_login()
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    form = parse(MatchFundForm)
    organisation = load(Organisation, form.organisation_id.data, Permission.MANAGE)
    fund = services.add_match_fund(campaign, organisation, form.cap.data)
    return jsonify({"id": fund.id, "organisation_id": fund.organisation_id, "cap": fund.cap}), 201


@bp.post("/campaigns/<int:campaign_id>/setup-intents")
@doc("Start saving a card: a Stripe SetupIntent (usage off_session) for the Payment Element; "
     "in sandbox mode answers {sandbox: true}", responses={201: "SetupIntent created"})
def setup_intent_create(campaign_id: int):
    require_login()
    load(Campaign, campaign_id, Permission.VIEW)
    provider = get_provider()
    if provider.name == "sandbox":
        return jsonify({"sandbox": True, "provider": provider.label}), 201
    try:
        intent = provider.create_setup_intent(services.backer_customer(current_user, provider))
    except ProviderUnavailable:
        raise Conflict(_("The payment provider could not be reached. Try again.")) from None
    return jsonify({"sandbox": False, "id": intent.id, "client_secret": intent.client_secret,
                    "publishable_key": current_app.config.get("STRIPE_PUBLISHABLE_KEY")}), 201


def _reward(campaign: Campaign, reward_id: int | None) -> Reward | None:
    if reward_id is None:
        return None
    reward = db.session.get(Reward, reward_id)
    if reward is None or reward.campaign_id != campaign.id:
        raise ValidationFailed.field("reward_id", _("This reward belongs to another campaign."))
    return reward


def _amount_from_raw_body() -> None:
    """Refuse fractional or non-integer amounts explicitly (1299.5 must not become 1299)."""
    raw = json_body().get("amount")
    if isinstance(raw, bool) or (raw is not None and not isinstance(raw, int)):
        raise ValidationFailed.field("amount", _("Give a whole number of minor units (no fractions)."))


@bp.post("/campaigns/<int:campaign_id>/pledges")
@doc("Pledge: amount in minor units (at least the reward's), reward_id optional, payment_method a test card in "
     "sandbox mode or a PaymentMethod id from a completed SetupIntent. Nothing is charged now.", form=PledgeForm,
     responses={201: "Pledge active", 409: "Campaign closed or reward sold out"})
def pledge_create(campaign_id: int):
    require_login()
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    _amount_from_raw_body()
    form = parse(PledgeForm)
    pledge = services.place_pledge(campaign, current_user, form.amount.data, _reward(campaign, form.reward_id.data),
                                   payment_method=form.payment_method.data, setup_intent=form.setup_intent.data,
                                   shipping_region=form.shipping_region.data, currency=form.currency.data)
    return jsonify(pledge_json(pledge)), 201


@bp.get("/pledges")
@doc("Your pledges")
def pledge_list():
    require_login()
    stmt = select(Pledge).where(Pledge.backer_id == current_user.id).order_by(Pledge.created_at.desc())
    return jsonify(paginate(stmt, pledge_json))


@bp.get("/pledges/<int:pledge_id>")
@doc("One of your pledges")
def pledge_get(pledge_id: int):
    require_login()
    return jsonify(pledge_json(load(Pledge, pledge_id, Permission.VIEW)))


@bp.patch("/pledges/<int:pledge_id>")
@doc("Change reward or amount of an active pledge before the deadline", form=PledgeForm)
def pledge_update(pledge_id: int):
    require_login()
    pledge = load(Pledge, pledge_id, Permission.EDIT)
    _amount_from_raw_body()
    form = parse(PledgeForm)
    services.update_pledge(pledge, amount=form.amount.data, reward=_reward(pledge.campaign, form.reward_id.data),
                           shipping_region=form.shipping_region.data, currency=form.currency.data)
    return jsonify(pledge_json(pledge))


@bp.post("/pledges/<int:pledge_id>/cancel")
@doc("Cancel your pledge before the deadline", responses={200: "Cancelled", 409: "Too late"})
def pledge_cancel(pledge_id: int):
    require_login()
    return jsonify(pledge_json(services.cancel_pledge(load(Pledge, pledge_id, Permission.EDIT))))


@bp.post("/pledges/<int:pledge_id>/payment-method")
@doc("Save another card on your pledge; an errored pledge is charged again at once", form=CardForm,
     responses={409: "The pledge is past the point where its card can change"})
def pledge_card(pledge_id: int):
    require_login()
    pledge = load(Pledge, pledge_id, Permission.EDIT)
    form = parse(CardForm)
    services.change_card(pledge, payment_method=form.payment_method.data or None,
                         setup_intent=form.setup_intent.data or None)
    if pledge.status in ("errored", "needs_authentication"):
        enqueue("funding.tasks.retry_pledge", pledge.id)  # after commit: charge again with the new card
    return jsonify(pledge_json(pledge))


@bp.post("/pledges/<int:pledge_id>/authenticate")
@doc("After finishing 3-D Secure on-session: record the PaymentIntent's outcome (no new charge)")
def pledge_authenticate(pledge_id: int):
    require_login()
    pledge = load(Pledge, pledge_id, Permission.EDIT)
    if pledge.status != "needs_authentication":
        raise Conflict(_("This pledge does not need authentication."), {"status": [pledge.status]})
    status = settlement.complete_authentication(pledge.id)
    db.session.expire_all()
    return jsonify(pledge_json(db.session.get(Pledge, pledge_id)) | {"outcome": status})


@bp.post("/pledges/<int:pledge_id>/refund")
@doc("Refund a collected pledge in full or in part through the provider (platform admins, or the campaign's "
     "team refunding one of its backers; audited, the backer is mailed)", form=RefundForm,
     responses={200: "Refunded", 400: "Bad amount", 403: "Neither an admin nor the campaign's team",
                409: "Not collected, another refund in flight, or the provider "
                "unreachable (the refund stays pending and is resent with the same key)"})
def pledge_refund(pledge_id: int):
    require_login()
    pledge = load(Pledge, pledge_id, REFUND_BACKER)
    form = parse(RefundForm)
    raw = json_body().get("amount")
    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int)):
        raise ValidationFailed.field("amount", _("Give a whole number of minor units (no fractions)."))
    pledge = refunds.refund_pledge(pledge.id, form.amount.data, by_team=not current_user.is_admin)
    return jsonify(pledge_json(pledge))


@bp.post("/pledges/<int:pledge_id>/survey")
@doc("Answer the backer survey: shipping address and reward variant (after success)", form=SurveyForm)
def pledge_survey(pledge_id: int):
    require_login()
    pledge = load(Pledge, pledge_id, Permission.EDIT)
    form = parse(SurveyForm)
    services.answer_survey(pledge, {f.short_name: f.data for f in form})
    return jsonify(pledge_json(pledge) | {"survey": pledge.survey_answers})


def entry_json(entry: LedgerEntry) -> dict:
    return {"id": entry.id, "kind": entry.kind, "amount": entry.amount, "currency": entry.currency,
            "reference": entry.reference, "memo": entry.memo, "created_at": iso(entry.created_at)}


@bp.get("/campaigns/<int:campaign_id>/ledger")
@doc("The public ledger: totals (pledged, collected, dropped, refunded, fees, net) and entries", auth=False)
def campaign_ledger(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    figures = ledger.totals(campaign)
    stmt = select(LedgerEntry).where(LedgerEntry.campaign_id == campaign.id).order_by(LedgerEntry.id)
    body = paginate(stmt, entry_json)
    body["currency"] = campaign.currency
    body["totals"] = {k: money(v, campaign.currency) for k, v in figures.items()}
    body.update({k: money(figures[k], campaign.currency)
                 for k in ("pledged", "collected", "dropped", "refunded", "fees", "net")})
    return jsonify(body)


@bp.get("/campaigns/<int:campaign_id>/updates")
@doc("Updates of a campaign (backers-only updates for backers and the team)", auth=False)
def update_list(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    team = can(current_user, Permission.MANAGE, campaign)
    return jsonify({"items": [{"id": u.id, "title": u.title, "body": u.body, "backers_only": u.backers_only,
                               "created_at": iso(u.created_at)}
                              for u in services.updates_for(campaign, current_user, team)]})


@bp.post("/campaigns/<int:campaign_id>/updates")
@doc("Post an update, public or for backers only (team)", form=UpdateForm)
def update_create(campaign_id: int):
    require_login()
    campaign = load(Campaign, campaign_id, Permission.MANAGE)
    form = parse(UpdateForm)
    update: CampaignUpdate = services.post_update(campaign, current_user, title=form.title.data,
                                                  body=form.body.data, backers_only=form.backers_only.data)
    return jsonify({"id": update.id, "title": update.title, "backers_only": update.backers_only}), 201


@bp.get("/campaigns/<int:campaign_id>/comments")
@doc("Comments and questions of a campaign", auth=False)
def comment_list(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    return jsonify({"items": [comment_json(c) for c in services.comments_for(campaign)]})


def comment_json(comment: CampaignComment) -> dict:
    return {"id": comment.id, "author": comment.author.name, "body": comment.body, "is_question": comment.is_question,
            "parent_id": comment.parent_id, "created_at": iso(comment.created_at)}


@bp.post("/campaigns/<int:campaign_id>/comments")
@doc("Comment, ask a question, or answer one (parent_id)", form=CommentForm)
def comment_create(campaign_id: int):
    require_login()
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    form = parse(CommentForm)
    parent = db.session.get(CampaignComment, form.parent_id.data) if form.parent_id.data else None
    if form.parent_id.data and parent is None:
        raise ValidationFailed.field("parent_id", _("That comment does not exist."))
    comment = services.post_comment(campaign, current_user, form.body.data, is_question=form.is_question.data,
                                    parent=parent)
    return jsonify(comment_json(comment)), 201


def financing_json(application: FinancingApplication) -> dict:
    organisation = application.organisation
    data = {"id": application.id, "project_id": application.project_id,
            "organisation": ({"id": organisation.id, "name": organisation.name, "verified": organisation.is_verified}
                             if organisation is not None else None),
            "amount": money(application.amount, application.currency), "use_of_funds": application.use_of_funds,
            "terms": application.terms, "status": application.status, "decision_note": application.decision_note,
            "decided_by": application.decided_by.name if application.decided_by else None,
            "decided_at": iso(application.decided_at), "created_at": iso(application.created_at)}
    if can(current_user, Permission.MANAGE, application):  # the reviewers' notes stay with the addressee
        data["reviews"] = [{"id": r.id, "reviewer": r.reviewer.name, "scores": r.scores,
                            "weighted_score": r.weighted_score, "recommendation": r.recommendation,
                            "comment": r.comment, "created_at": iso(r.created_at)} for r in application.reviews]
        data["average_score"] = financing.average_score(application)
    return data


@bp.post("/financing-applications")
@doc("Apply for financing for a project of your organisation, addressed to a verified company or fund "
     "(`organisation_id`; the platform's fund when absent)", form=FinancingForm,
     responses={201: "Submitted", 409: "organisation_unverified: the addressee is not verified"})
def financing_create():
    require_login()
    form = parse(FinancingForm)
    project = load(Project, form.project_id.data, Permission.EDIT)
    organisation = None
    if form.organisation_id.data is not None:
        organisation = db.session.get(Organisation, form.organisation_id.data)
        if organisation is None:
            raise ValidationFailed.field("organisation_id", _("No such organisation."))
    amount = form.amount.form
    application = financing.apply_for_financing(project, current_user, amount=amount.amount.data or 0,
                                                currency=amount.currency.data or "CNY",
                                                use_of_funds=form.use_of_funds.data, terms=form.terms.data,
                                                organisation=organisation)
    return jsonify(financing_json(application)), 201


@bp.get("/financing-applications")
@doc("Financing applications you may see: your organisations' and those addressed to your verified company")
def financing_list():
    require_login()
    return jsonify(paginate(financing.visible_financing(current_user), financing_json))


@bp.get("/financing-applications/<int:application_id>")
@doc("One financing application (applicant organisation, the addressee's verified staff, admins)")
def financing_get(application_id: int):
    require_login()
    return jsonify(financing_json(load(FinancingApplication, application_id, Permission.VIEW)))


@bp.post("/financing-applications/<int:application_id>/reviews")
@doc("Score a financing application: `{scores: {team, market, terms: 0-5}, recommendation: yes|maybe|no, "
     "comment?}` (the addressee's verified staff)",
     responses={201: "Reviewed", 409: "Decided already, reviewed already, or conflict_of_interest"})
def financing_review(application_id: int):
    require_login()
    application = load(FinancingApplication, application_id, Permission.MANAGE)
    body = json_body()
    scores = body.get("scores")
    if not isinstance(scores, dict):
        raise ValidationFailed.field("scores", _("Send an object of scores from 0 to 5."))
    comment = body.get("comment") or ""
    if not isinstance(comment, str):
        raise ValidationFailed.field("comment", _("Send text."))
    review = financing.review_financing(application, current_user, scores, body.get("recommendation"), comment)
    return jsonify({"id": review.id, "weighted_score": review.weighted_score,
                    "recommendation": review.recommendation}), 201


@bp.post("/financing-applications/<int:application_id>/decision")
@doc("Decide a financing application after at least one review (the addressee's verified staff)",
     form=FinancingDecisionForm, responses={200: "Decided", 409: "Decided already, or no review yet"})
def financing_decide(application_id: int):
    require_login()
    application = load(FinancingApplication, application_id, Permission.MANAGE)
    form = parse(FinancingDecisionForm)
    financing.decide_financing(application, current_user, form.decision.data, form.note.data)
    return jsonify(financing_json(application))

