"""JSON API of funding: campaigns, rewards, pledges, ledger, updates, comments, financing. Thin: the
rules live in `funding.services` and `funding.settlement`, shared with the HTML views."""

from __future__ import annotations

from flask import current_app, jsonify
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from funding import community, financing, ledger, matchfunding, refunds, services, settlement
from funding.models import (
    Campaign,
    CampaignComment,
    CampaignUpdate,
    FinancingApplication,
    LedgerEntry,
    Pledge,
    Reward,
)
from funding.payments import ProviderUnavailable, get_provider
from funding.policies import REFUND_BACKER
from funding.schemas import (
    CampaignCommentOut,
    CampaignOut,
    CampaignQuery,
    CampaignRejection,
    CardChange,
    FinancingDecision,
    FinancingOut,
    FinancingRequest,
    FinancingReviewIn,
    LedgerEntryOut,
    MatchFundOut,
    NewCampaign,
    NewComment,
    NewMatchFund,
    NewPledge,
    NewReward,
    NewStretchGoal,
    NewUpdate,
    PledgeChange,
    PledgeOut,
    RefundRequest,
    ReviewCreatedOut,
    RewardOut,
    SetupIntentOut,
    StretchGoalOut,
    SurveyAnswers,
    UpdateOut,
)
from incubation.models import Project
from portal.api import api_blueprint, doc, iso, money, paginate, read_body, read_query, require_login
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.jobs import enqueue
from portal.moderation.services import shown
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


def read_money_body(model, money_field: str):
    """`read_body(model)`, naming a bad currency `currency` as the API always has (not `goal.currency`)."""
    try:
        return read_body(model)
    except ValidationFailed as error:
        fields = error.fields or {}
        if f"{money_field}.currency" in fields:
            fields["currency"] = fields.pop(f"{money_field}.currency")
        raise


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
                                 for g in community.stretch_goals(campaign)]
        data["match_funds"] = [{"organisation_id": f.organisation_id, "cap": f.cap}
                               for f in matchfunding.match_funds(campaign)]
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
@doc("List campaigns: public ones, plus drafts of your own organisations", auth=False, query=CampaignQuery,
     response=CampaignOut)
def campaign_list():
    args = read_query(CampaignQuery)
    stmt = services.visible_campaigns(current_user)
    if args.status is not None:
        stmt = stmt.where(Campaign.status == args.status)
    if args.project_id is not None:
        stmt = stmt.where(Campaign.project_id == args.project_id)
    stmt = stmt.order_by(Campaign.deadline, Campaign.id)
    # Totals for the whole page in one grouped query rather than one per campaign.
    page = paginate(stmt, lambda c: c)
    totals = services.totals_for(c.id for c in page["items"])
    page["items"] = [campaign_json(c, totals[c.id]) for c in page["items"]]
    return jsonify(page)


@bp.post("/campaigns")
@doc("Create a draft campaign for a project of your organisation (deadline 1 to 60 days ahead)", body=NewCampaign,
     response=CampaignOut, responses={201: "Draft created"})
def campaign_create():
    require_login()
    cmd = read_money_body(NewCampaign, "goal")
    project = load(Project, cmd.project_id, Permission.EDIT)
    campaign = services.create_campaign(project, cmd)
    return jsonify(campaign_json(campaign, (0, 0))), 201


@bp.get("/campaigns/<int:campaign_id>")
@doc("One campaign with its goal, pledged total (active and collected pledges), backers and rewards", auth=False,
     response=CampaignOut)
def campaign_get(campaign_id: int):
    return jsonify(campaign_json(load(Campaign, campaign_id, Permission.VIEW), with_rewards=True))


@bp.post("/campaigns/<int:campaign_id>/rewards")
@doc("Add a reward tier (team; before the campaign goes live). `shipping_fees`: {region: minor units}",
     body=NewReward, response=RewardOut)
def reward_create(campaign_id: int):
    require_login()
    campaign = load(Campaign, campaign_id, Permission.EDIT)
    reward = services.add_reward(campaign, read_body(NewReward))
    return jsonify(reward_json(reward, 0)), 201


@bp.post("/campaigns/<int:campaign_id>/stretch-goals")
@doc("Add a stretch goal above the goal (team)", body=NewStretchGoal, response=StretchGoalOut)
def stretch_goal_create(campaign_id: int):
    require_login()
    campaign = load(Campaign, campaign_id, Permission.EDIT)
    goal = community.add_stretch_goal(campaign, read_body(NewStretchGoal))
    return jsonify({"id": goal.id, "amount": goal.amount, "title": goal.title}), 201


@bp.post("/campaigns/<int:campaign_id>/submit")
@doc("Submit a draft campaign for approval (team)", response=CampaignOut, responses={200: "Submitted", 409: "Not a draft"})
def campaign_submit(campaign_id: int):
    require_login()
    campaign = services.submit_campaign(load(Campaign, campaign_id, Permission.EDIT))
    return jsonify(campaign_json(campaign, (0, 0)))


@bp.post("/campaigns/<int:campaign_id>/approve")
@doc("Approve a submitted campaign: it goes live (platform admins)", response=CampaignOut, responses={200: "Live", 409: "Not submitted"})
def campaign_approve(campaign_id: int):
    require_login()
    campaign = services.approve_campaign(load(Campaign, campaign_id, Permission.ADMIN))
    return jsonify(campaign_json(campaign))


@bp.post("/campaigns/<int:campaign_id>/reject")
@doc("Reject a submitted campaign with a reason mailed to its team (platform admins)", body=CampaignRejection,
     response=CampaignOut, responses={200: "Rejected (cancelled)", 409: "Not submitted"})
def campaign_reject(campaign_id: int):
    require_login()
    campaign = load(Campaign, campaign_id, Permission.ADMIN)
    campaign = services.reject_campaign(campaign, read_body(CampaignRejection).reason)
    return jsonify(campaign_json(campaign))


@bp.post("/campaigns/<int:campaign_id>/cancel")
@doc("Cancel a campaign before it ends (team or admins); active pledges are released", response=CampaignOut,
     responses={200: "Cancelled", 409: "Already ended"})
def campaign_cancel(campaign_id: int):
    require_login()
    campaign = services.cancel_campaign(load(Campaign, campaign_id, Permission.EDIT))
    return jsonify(campaign_json(campaign))


@bp.post("/campaigns/<int:campaign_id>/match-funds")
@doc("An anchor company matches pledges 1:1 up to a cap (owners of that company, or admins)", body=NewMatchFund,
     response=MatchFundOut,
     responses={409: "The company is not verified (`organisation_unverified`), or the campaign has ended"})
def match_fund_create(campaign_id: int):
    require_login()
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    cmd = read_body(NewMatchFund)
    organisation = load(Organisation, cmd.organisation_id, Permission.MANAGE)
    fund = matchfunding.add_match_fund(campaign, organisation, cmd)
    return jsonify({"id": fund.id, "organisation_id": fund.organisation_id, "cap": fund.cap}), 201


@bp.post("/campaigns/<int:campaign_id>/setup-intents")
@doc("Start saving a card: a Stripe SetupIntent (usage off_session) for the Payment Element; "
     "in sandbox mode answers {sandbox: true}", response=SetupIntentOut,
     responses={201: "SetupIntent created"})
def setup_intent_create(campaign_id: int):
    require_login()
    load(Campaign, campaign_id, Permission.VIEW)
    provider = get_provider()
    if provider.name == "sandbox":
        return jsonify({"sandbox": True, "provider": provider.label}), 201
    try:
        intent = services.start_card_setup(current_user)  # no transaction open during the provider calls
    except ProviderUnavailable:
        raise Conflict(_("The payment provider could not be reached. Try again.")) from None
    return jsonify({"sandbox": False, "id": intent.id, "client_secret": intent.client_secret,
                    "publishable_key": current_app.config.get("STRIPE_PUBLISHABLE_KEY")}), 201


@bp.post("/campaigns/<int:campaign_id>/pledges")
@doc("Pledge: amount in minor units (at least the reward's), reward_id optional, payment_method a test card in "
     "sandbox mode or a PaymentMethod id from a completed SetupIntent. Nothing is charged now.", body=NewPledge,
     response=PledgeOut,
     responses={201: "Pledge active", 409: "Campaign closed or reward sold out"})
def pledge_create(campaign_id: int):
    require_login()
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    pledge = services.place_pledge(campaign, current_user, read_body(NewPledge))
    return jsonify(pledge_json(pledge)), 201


@bp.get("/pledges")
@doc("Your pledges", response=PledgeOut)
def pledge_list():
    require_login()
    stmt = select(Pledge).where(Pledge.backer_id == current_user.id).order_by(Pledge.created_at.desc())
    return jsonify(paginate(stmt, pledge_json))


@bp.get("/pledges/<int:pledge_id>")
@doc("One of your pledges", response=PledgeOut)
def pledge_get(pledge_id: int):
    require_login()
    return jsonify(pledge_json(load(Pledge, pledge_id, Permission.VIEW)))


@bp.patch("/pledges/<int:pledge_id>")
@doc("Change reward or amount of an active pledge before the deadline", body=PledgeChange, response=PledgeOut)
def pledge_update(pledge_id: int):
    require_login()
    pledge = load(Pledge, pledge_id, Permission.EDIT)
    services.update_pledge(pledge, read_body(PledgeChange))
    return jsonify(pledge_json(pledge))


@bp.post("/pledges/<int:pledge_id>/cancel")
@doc("Cancel your pledge before the deadline", response=PledgeOut, responses={200: "Cancelled", 409: "Too late"})
def pledge_cancel(pledge_id: int):
    require_login()
    return jsonify(pledge_json(services.cancel_pledge(load(Pledge, pledge_id, Permission.EDIT))))


@bp.post("/pledges/<int:pledge_id>/payment-method")
@doc("Save another card on your pledge; an errored pledge is charged again at once", body=CardChange,
     response=PledgeOut,
     responses={409: "The pledge is past the point where its card can change"})
def pledge_card(pledge_id: int):
    require_login()
    pledge = load(Pledge, pledge_id, Permission.EDIT)
    services.change_card(pledge, read_body(CardChange))
    if pledge.status in ("errored", "needs_authentication"):
        enqueue("funding.tasks.retry_pledge", pledge.id)  # after commit: charge again with the new card
    return jsonify(pledge_json(pledge))


@bp.post("/pledges/<int:pledge_id>/authenticate")
@doc("After finishing 3-D Secure on-session: record the PaymentIntent's outcome (no new charge)", response=PledgeOut)
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
     "team refunding one of its backers; audited, the backer is mailed)", body=RefundRequest,
     response=PledgeOut,
     responses={200: "Refunded", 400: "Bad amount", 403: "Neither an admin nor the campaign's team",
                409: "Not collected, another refund in flight, or the provider "
                "unreachable (the refund stays pending and is resent with the same key)"})
def pledge_refund(pledge_id: int):
    require_login()
    pledge = load(Pledge, pledge_id, REFUND_BACKER)
    pledge = refunds.refund_pledge(pledge.id, read_body(RefundRequest), by_team=not current_user.is_admin)
    return jsonify(pledge_json(pledge))


@bp.post("/pledges/<int:pledge_id>/survey")
@doc("Answer the backer survey: shipping address and reward variant (after success)", body=SurveyAnswers,
     response=PledgeOut)
def pledge_survey(pledge_id: int):
    require_login()
    pledge = load(Pledge, pledge_id, Permission.EDIT)
    community.answer_survey(pledge, read_body(SurveyAnswers))
    return jsonify(pledge_json(pledge) | {"survey": pledge.survey_answers})


def entry_json(entry: LedgerEntry) -> dict:
    return {"id": entry.id, "kind": entry.kind, "amount": entry.amount, "currency": entry.currency,
            "reference": entry.reference, "memo": entry.memo, "created_at": iso(entry.created_at)}


@bp.get("/campaigns/<int:campaign_id>/ledger")
@doc("The public ledger: totals (pledged, collected, dropped, refunded, fees, net) and entries", auth=False,
     response=LedgerEntryOut)
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
@doc("Updates of a campaign (backers-only updates for backers and the team)", auth=False, response=UpdateOut)
def update_list(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    team = can(current_user, Permission.MANAGE, campaign)
    return jsonify({"items": [{"id": u.id, "title": u.title, "body": u.body, "backers_only": u.backers_only,
                               "created_at": iso(u.created_at)}
                              for u in community.updates_for(campaign, current_user, team)]})


@bp.post("/campaigns/<int:campaign_id>/updates")
@doc("Post an update, public or for backers only (team)", body=NewUpdate, response=UpdateOut)
def update_create(campaign_id: int):
    require_login()
    campaign = load(Campaign, campaign_id, Permission.MANAGE)
    update: CampaignUpdate = community.post_update(campaign, current_user, read_body(NewUpdate))
    return jsonify({"id": update.id, "title": update.title, "backers_only": update.backers_only}), 201


@bp.get("/campaigns/<int:campaign_id>/comments")
@doc("Comments and questions of a campaign", auth=False, response=CampaignCommentOut)
def comment_list(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    return jsonify({"items": [comment_json(c) for c in shown(current_user, community.comments_for(campaign))]})


def comment_json(comment: CampaignComment) -> dict:
    return {"id": comment.id, "author": comment.author.name, "body": comment.body, "is_question": comment.is_question,
            "parent_id": comment.parent_id, "created_at": iso(comment.created_at)}


@bp.post("/campaigns/<int:campaign_id>/comments")
@doc("Comment, ask a question, or answer one (parent_id)", body=NewComment, response=CampaignCommentOut)
def comment_create(campaign_id: int):
    require_login()
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    comment = community.post_comment(campaign, current_user, read_body(NewComment))
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
     "(`organisation_id`; the platform's fund when absent)", body=FinancingRequest, response=FinancingOut,
     responses={201: "Submitted", 409: "organisation_unverified: the addressee is not verified"})
def financing_create():
    require_login()
    cmd = read_money_body(FinancingRequest, "amount")
    project = load(Project, cmd.project_id, Permission.EDIT)
    organisation = None
    if cmd.organisation_id is not None:
        organisation = db.session.get(Organisation, cmd.organisation_id)
        if organisation is None:
            raise ValidationFailed.field("organisation_id", _("No such organisation."))
    application = financing.apply_for_financing(project, current_user, cmd, organisation)
    return jsonify(financing_json(application)), 201


@bp.get("/financing-applications")
@doc("Financing applications you may see: your organisations' and those addressed to your verified company",
     response=FinancingOut)
def financing_list():
    require_login()
    return jsonify(paginate(financing.visible_financing(current_user), financing_json))


@bp.get("/financing-applications/<int:application_id>")
@doc("One financing application (applicant organisation, the addressee's verified staff, admins)",
     response=FinancingOut)
def financing_get(application_id: int):
    require_login()
    return jsonify(financing_json(load(FinancingApplication, application_id, Permission.VIEW)))


@bp.post("/financing-applications/<int:application_id>/reviews")
@doc("Score a financing application: `{scores: {team, market, terms: 0-5}, recommendation: yes|maybe|no, "
     "comment?}` (the addressee's verified staff)",
     body=FinancingReviewIn, response=ReviewCreatedOut,
     responses={201: "Reviewed", 409: "Decided already, reviewed already, or conflict_of_interest"})
def financing_review(application_id: int):
    require_login()
    application = load(FinancingApplication, application_id, Permission.MANAGE)
    review = financing.review_financing(application, current_user, read_body(FinancingReviewIn))
    return jsonify({"id": review.id, "weighted_score": review.weighted_score,
                    "recommendation": review.recommendation}), 201


@bp.post("/financing-applications/<int:application_id>/decision")
@doc("Decide a financing application after at least one review (the addressee's verified staff)",
     body=FinancingDecision, response=FinancingOut,
     responses={200: "Decided", 409: "Decided already, or no review yet"})
def financing_decide(application_id: int):
    require_login()
    application = load(FinancingApplication, application_id, Permission.MANAGE)
    financing.decide_financing(application, current_user, read_body(FinancingDecision))
    return jsonify(financing_json(application))

