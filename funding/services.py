"""Funding rules: campaigns and their life cycle, reward tiers, pledges and pledged totals.

Functions flush and never commit, except around a call to the payment provider: no lock and no
transaction is held during one (`end_transaction_before_call`), so saving a card commits what the unit
of work held before it. Every change of state or money is written to the audit log. Pledges save a card
through the payment provider (Stripe or the sandbox) and charge nothing; the charge happens at
settlement (funding/settlement.py), which commits around its provider calls in the same way.

Stretch goals, updates, comments and surveys live in `funding.community`, matchfunding in
`funding.matchfunding`; their functions are re-exported here (`X as X`) so `funding.services.<name>` keeps
working for callers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from funding import notices
from funding.community import SURVEY_FIELDS as SURVEY_FIELDS
from funding.community import add_stretch_goal as add_stretch_goal
from funding.community import answer_survey as answer_survey
from funding.community import comments_for as comments_for
from funding.community import is_backer as is_backer
from funding.community import post_comment as post_comment
from funding.community import post_update as post_update
from funding.community import stretch_goals as stretch_goals
from funding.community import updates_for as updates_for
from funding.matchfunding import add_match_fund as add_match_fund
from funding.matchfunding import match_funds as match_funds
from funding.models import (
    CAMPAIGN_TRANSITIONS,
    COUNTED_PLEDGE_STATUSES,
    PRIVATE_CAMPAIGN_STATUSES,
    BackerAccount,
    Campaign,
    CampaignStatus,
    Pledge,
    PledgeStatus,
    Reward,
)
from funding.schemas import CardChange, NewCampaign, NewPledge, NewReward, PledgeChange
from incubation.models import Project
from incubation.services import member_organisation_ids
from portal import audit
from portal.auth.models import User
from portal.db import utcnow
from portal.errors import Conflict, Forbidden, ValidationFailed
from portal.extensions import db
from portal.mail import send_to_user
from portal.states import transition

# ---- reading ---------------------------------------------------------------------------------


def visible_campaigns(user: User | None) -> Select:
    """Campaigns `user` may see: public ones, plus drafts and submitted ones of their own organisations."""
    stmt = select(Campaign)
    if user is not None and getattr(user, "is_authenticated", False) and user.is_admin:
        return stmt
    public = Campaign.status.not_in(PRIVATE_CAMPAIGN_STATUSES) & Campaign.hidden_at.is_(None)  # (moderators hide)
    own = member_organisation_ids(user)
    if not own:
        return stmt.where(public)
    own_projects = select(Project.id).where(Project.organisation_id.in_(own))
    return stmt.where(or_(public, Campaign.project_id.in_(own_projects)))


def live_campaigns_stmt() -> Select:
    return select(Campaign).where(Campaign.status == CampaignStatus.LIVE).order_by(Campaign.deadline)


def totals_for(campaign_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """{campaign id: (pledged amount, backers)} for many campaigns in one grouped query."""
    ids = list(campaign_ids)
    totals = {campaign_id: (0, 0) for campaign_id in ids}
    if not ids:
        return totals
    rows = db.session.execute(
        select(Pledge.campaign_id, func.sum(Pledge.amount), func.count(func.distinct(Pledge.backer_id)))
        .where(Pledge.campaign_id.in_(ids), Pledge.status.in_(COUNTED_PLEDGE_STATUSES))
        .group_by(Pledge.campaign_id))
    for campaign_id, amount, backers in rows:
        totals[campaign_id] = (int(amount or 0), int(backers or 0))
    return totals


def claimed_per_reward(campaign: Campaign) -> dict[int, int]:
    """{reward id: pledges holding it} over active and collected pledges."""
    rows = db.session.execute(
        select(Pledge.reward_id, func.count()).where(
            Pledge.campaign_id == campaign.id, Pledge.reward_id.is_not(None),
            Pledge.status.in_(COUNTED_PLEDGE_STATUSES)).group_by(Pledge.reward_id))
    return {reward_id: int(count) for reward_id, count in rows}


def campaigns_of_projects(project_ids: Iterable[int]) -> list[Campaign]:
    ids = list(project_ids)
    if not ids:
        return []
    return list(db.session.scalars(select(Campaign).where(Campaign.project_id.in_(ids))
                                   .order_by(Campaign.created_at.desc())))


# ---- campaigns -------------------------------------------------------------------------------

MIN_CAMPAIGN_DAYS = 1
MAX_CAMPAIGN_DAYS = 60

class CrowdfundingModeRequired(Conflict):
    """The crowdfunding gate: 409 `crowdfunding_mode_required`."""

    code = "crowdfunding_mode_required"


def crowdfunding_gate_failure(project: Project) -> str | None:
    """Why `project` may not run a campaign, or None. The rule: the project is in the crowdfunding incubation
    mode, or it was accepted into a crowdfunding program."""
    from incubation.models import Application, ApplicationStatus, IncubationMode, Program

    if project.mode == IncubationMode.CROWDFUNDING:
        return None
    accepted = db.session.scalar(select(func.count()).select_from(Application)
                                 .join(Program, Program.id == Application.program_id)
                                 .where(Application.project_id == project.id,
                                        Application.status == ApplicationStatus.ACCEPTED,
                                        Program.mode == IncubationMode.CROWDFUNDING))
    if accepted:
        return None
    return _("Crowdfunding campaigns are for projects in the crowdfunding incubation mode, or accepted into a "
             "crowdfunding program. Switch the project's mode to crowdfunding or apply to a crowdfunding program "
             "first.")


def create_campaign(project: Project, cmd: NewCampaign) -> Campaign:
    """A draft campaign for a project. The caller checked that the user may edit the project (`cmd.project_id`)."""
    failure = crowdfunding_gate_failure(project)
    if failure:
        raise CrowdfundingModeRequired(failure, {"project_id": [failure]})
    deadline, now = cmd.deadline, utcnow()
    if deadline <= now:
        raise ValidationFailed.field("deadline", _("The deadline must be in the future."))
    if deadline < now + timedelta(days=MIN_CAMPAIGN_DAYS):
        raise ValidationFailed.field("deadline", _("A campaign runs at least %(days)d day.", days=MIN_CAMPAIGN_DAYS))
    if deadline > now + timedelta(days=MAX_CAMPAIGN_DAYS):
        raise ValidationFailed.field("deadline", _("A campaign runs %(days)d days at most.", days=MAX_CAMPAIGN_DAYS))
    campaign = Campaign(project_id=project.id, title=cmd.title, story=cmd.story, goal_amount=cmd.goal.amount,
                        currency=cmd.goal.currency, deadline=deadline, funding_model=cmd.funding_model,
                        status=CampaignStatus.DRAFT)
    db.session.add(campaign)
    db.session.flush()
    audit.record("campaign.created", campaign, after={"project_id": project.id, "goal_amount": cmd.goal.amount,
                                                      "currency": campaign.currency, "deadline": deadline,
                                                      "funding_model": cmd.funding_model})
    return campaign


def add_reward(campaign: Campaign, cmd: NewReward) -> Reward:
    if campaign.status not in PRIVATE_CAMPAIGN_STATUSES:
        raise Conflict(_("Rewards can only be added before the campaign goes live."))
    reward = Reward(campaign_id=campaign.id, title=cmd.title, description=cmd.description, amount=cmd.amount,
                    quantity=cmd.quantity, estimated_delivery=cmd.estimated_delivery,
                    shipping_fees=dict(cmd.shipping_fees), variants=list(cmd.variants))
    db.session.add(reward)
    db.session.flush()
    audit.record("reward.created", reward, after={"campaign_id": campaign.id, "amount": cmd.amount,
                                                  "currency": campaign.currency, "quantity": cmd.quantity})
    return reward


def _transition(campaign: Campaign, to: str, action: str) -> Campaign:
    before = transition(campaign, to, CAMPAIGN_TRANSITIONS, message=lambda status, target: _(
        "A campaign in status %(status)s cannot become %(target)s.", status=status, target=target))
    db.session.flush()
    audit.record(action, campaign, before={"status": before}, after={"status": to})
    return campaign


def submit_campaign(campaign: Campaign) -> Campaign:
    _transition(campaign, CampaignStatus.SUBMITTED, "campaign.submitted")
    notices.campaign_submitted(campaign)  # to the platform admins, who approve
    return campaign


def approve_campaign(campaign: Campaign) -> Campaign:
    """Submitted -> live (platform admins; checked by the caller)."""
    if campaign.deadline <= utcnow():
        raise ValidationFailed.field("deadline", _("The deadline has passed; move it before going live."))
    _transition(campaign, CampaignStatus.LIVE, "campaign.approved")
    notices.campaign_approved(campaign)
    return campaign


def reject_campaign(campaign: Campaign, reason: str = "") -> Campaign:
    """Submitted -> cancelled by the platform (admins; checked by the caller); the team is told why."""
    before = campaign.status
    if before != CampaignStatus.SUBMITTED:
        raise Conflict(_("Only a submitted campaign can be rejected."), {"status": [before]})
    campaign.status = CampaignStatus.CANCELLED
    campaign.settled_at = utcnow()
    db.session.flush()
    audit.record("campaign.rejected", campaign, before={"status": before},
                 after={"status": CampaignStatus.CANCELLED, "reason": reason})
    notices.campaign_rejected(campaign, reason)
    return campaign



def cancel_campaign(campaign: Campaign) -> Campaign:
    """The team withdraws a campaign before it ends; active pledges are released, nothing is charged."""
    _transition(campaign, CampaignStatus.CANCELLED, "campaign.cancelled")
    for pledge in db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign.id,
                                                          Pledge.status == PledgeStatus.ACTIVE)):
        set_pledge_status(pledge, PledgeStatus.RELEASED, "pledge.released")
    campaign.settled_at = utcnow()
    return campaign


def mark_fulfilled(campaign: Campaign) -> Campaign:
    return _transition(campaign, CampaignStatus.FULFILLED, "campaign.fulfilled")


def set_media(campaign: Campaign, stored_file_id: int) -> None:
    campaign.media_id = stored_file_id
    db.session.flush()
    audit.record("campaign.media_set", campaign, after={"media_id": stored_file_id})


GALLERY_MAX = 12


def add_gallery_image(campaign: Campaign, file, caption: str, user: User):
    """Check and store one more picture of the campaign's gallery (400/413 naming `image`); its thumbnail
    follows in a job."""
    from funding.models import CampaignImage
    from portal.images import MAX_IMAGE_BYTES
    from portal.uploads import IMAGES, store_upload

    if len(campaign.gallery) >= GALLERY_MAX:
        raise ValidationFailed.field("image", _("A gallery holds at most %(n)d images; remove one first.",
                                                n=GALLERY_MAX))
    stored = store_upload(file, field="image", kinds=IMAGES, max_bytes=MAX_IMAGE_BYTES, uploaded_by_id=user.id)
    item = CampaignImage(campaign_id=campaign.id, stored_file_id=stored.id, caption=(caption or "").strip()[:255])
    campaign.gallery.append(item)
    db.session.flush()
    audit.record("campaign.gallery_added", campaign, after={"stored_file_id": stored.id})
    return item


def remove_gallery_image(campaign: Campaign, image_id: int) -> None:
    item = next((i for i in campaign.gallery if i.id == image_id), None)
    if item is None:
        raise ValidationFailed(_("This image is not in the campaign's gallery."))
    campaign.gallery.remove(item)
    db.session.flush()
    audit.record("campaign.gallery_removed", campaign, before={"stored_file_id": item.stored_file_id})


# ---- pledges ---------------------------------------------------------------------------------

def set_pledge_status(pledge: Pledge, status: str, action: str, **details) -> None:
    """Every pledge state change goes through here, so each one lands in the hash-chained audit log."""
    before = pledge.status
    pledge.status = status
    pledge.updated_at = utcnow()
    db.session.flush()
    audit.record(action, pledge, before={"status": before},
                 after={"status": status, "amount": pledge.amount, "currency": pledge.campaign.currency, **details})


def _check_open(campaign: Campaign) -> None:
    if campaign.status != CampaignStatus.LIVE:
        raise Conflict(_("This campaign is not taking pledges."), {"campaign": [campaign.status]})
    if campaign.is_upcoming():  # approved, opening at its launch time (funding.listing)
        from portal.templating import local_time

        raise Conflict(_("This campaign opens for pledges on %(when)s.", when=local_time(campaign.launch_at)),
                       {"campaign": [_("not launched yet")]})
    if campaign.deadline <= utcnow():
        raise Conflict(_("The campaign's deadline has passed."), {"campaign": [_("deadline passed")]})


def reward_of(campaign: Campaign, reward_id: int | None) -> Reward | None:
    """The reward a pledge asks for, which must be one of the campaign's (400 naming `reward_id` otherwise)."""
    if reward_id is None:
        return None
    reward = db.session.get(Reward, reward_id)
    if reward is None or reward.campaign_id != campaign.id:
        raise ValidationFailed.field("reward_id", _("This reward belongs to another campaign."))
    return reward


def _check_reward(campaign: Campaign, reward: Reward | None, amount: int, region: str | None,
                  ignore_pledge: Pledge | None = None, *, lock: bool = True) -> int:
    """Check the reward and its stock; return the shipping fee. With `lock` the reward row is locked
    (PostgreSQL) until commit, so the stock count holds until the pledge is written; without, it is a
    first look taken before any call to the provider (refuse early), repeated with the lock afterwards."""
    if reward is None:
        return 0
    if amount < reward.amount:
        raise ValidationFailed.field("amount", _("This reward needs a pledge of at least its amount."))
    _check_stock(reward, ignore_pledge, lock=lock)
    fees = reward.shipping_fees or {}
    if not fees:
        return 0
    region = (region or "").upper()
    if region not in fees:
        raise ValidationFailed.field("shipping_region", _("Choose where to ship: %(regions)s.",
                                                          regions=", ".join(sorted(fees))))
    return int(fees[region])


def _check_stock(reward: Reward | None, ignore_pledge: Pledge | None = None, *, lock: bool = True) -> None:
    if reward is None or reward.quantity is None:
        return
    if lock:
        # Lock the reward row so two backers cannot take the last one at the same time; the count below
        # then sees every committed pledge (PostgreSQL re-reads after the lock; SQLite writers are serial).
        db.session.execute(select(Reward.id).where(Reward.id == reward.id).with_for_update())
    stmt = select(func.count()).select_from(Pledge).where(
        Pledge.reward_id == reward.id, Pledge.status.in_(COUNTED_PLEDGE_STATUSES))
    if ignore_pledge is not None:
        stmt = stmt.where(Pledge.id != ignore_pledge.id)
    if (db.session.scalar(stmt) or 0) >= reward.quantity:
        raise Conflict(_("This reward is sold out."), {"reward_id": [_("sold out")]})


def _region(reward: Reward | None, region: str | None) -> str | None:
    if reward is None or not reward.shipping_fees:
        return None
    return (region or "").upper() or None


def _check_currency_matches(campaign: Campaign, currency: str | None) -> None:
    if currency is not None and currency != campaign.currency:
        raise ValidationFailed.field("currency", _("This campaign takes pledges in %(currency)s.",
                                                   currency=campaign.currency))


def end_transaction_before_call() -> None:
    """Commit the unit of work so far (a request's reads, a session touch) and give the connection back, so
    that no lock is held during a call to the payment provider: no row lock on PostgreSQL, and not SQLite's
    write lock, which a writing request takes with BEGIN IMMEDIATE at its first query. What comes after the
    call starts a new transaction (and on SQLite waits for the write lock only then)."""
    from portal.db import commit

    commit()


def _before_call(provider) -> None:
    """End the transaction before a provider call that leaves the process (all but the in-process sandbox
    of tests and the demo, which makes no call and keeps no state outside this process)."""
    if not getattr(provider, "in_process", False):
        end_transaction_before_call()


def backer_customer(backer: User, provider) -> str:
    """The backer's customer at the provider. Creating one calls the provider outside any transaction, then
    records it in a short transaction of its own (commits), so a refused pledge does not lose it."""
    from sqlalchemy.exc import IntegrityError

    def existing() -> str | None:
        return db.session.scalar(select(BackerAccount.customer_ref).where(
            BackerAccount.user_id == user_id, BackerAccount.provider == provider.name))

    user_id, email, name = backer.id, backer.email, backer.name
    ref = existing()
    if ref is not None:
        return ref
    _before_call(provider)
    ref = provider.ensure_customer(email, name, None)
    try:
        with db.session.begin_nested():
            db.session.add(BackerAccount(user_id=user_id, provider=provider.name, customer_ref=ref))
    except IntegrityError:  # the same backer's other request recorded one first: use that one
        ref = existing()
    _before_call(provider)
    return ref


def start_card_setup(backer: User):
    """A SetupIntent for the Payment Element (Stripe), created with no transaction open."""
    from funding.payments import get_provider

    provider = get_provider()
    customer = backer_customer(backer, provider)
    _before_call(provider)
    return provider.create_setup_intent(customer)


def _save_card(backer: User, payment_method: str | None, setup_intent: str | None):
    """Save the card with the provider. Ends the current transaction first: the provider is called with
    no transaction open and no lock held, and the caller re-checks what it checked before (in a new
    transaction) before writing. The card is saved on the backer's customer; if the caller then refuses
    the pledge (sold out), no pledge refers to it and nothing ever charges it (it stays harmless on the
    customer, as a card the backer may use again)."""
    from funding.payments import get_provider

    provider = get_provider()
    if not (payment_method or setup_intent):
        raise ValidationFailed.field("payment_method", _("Add a card to pledge."))
    customer = backer_customer(backer, provider)
    _before_call(provider)
    if setup_intent and not payment_method:
        info = provider.retrieve_setup_intent(setup_intent)
        if info.status != "succeeded" or not info.payment_method_ref or info.customer_ref != customer:
            raise ValidationFailed.field("payment_method", _("The card was not saved; try again."))
        payment_method = info.payment_method_ref
    return provider, provider.save_card(customer, payment_method)


def own_campaign_reason(campaign: Campaign, user: User | None) -> str | None:
    """Why `user` may not back `campaign` (they are in the campaign's organisation), or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if campaign.project.organisation_id in member_organisation_ids(user):
        return _("Members of %(org)s cannot back its own campaign.", org=campaign.project.organisation.name)
    return None


def _check_not_own(campaign: Campaign, backer: User) -> None:
    """No self-dealing: the campaign's team never pledges to it (and so never inflates its total or its match)."""
    reason = own_campaign_reason(campaign, backer)
    if reason:
        raise Forbidden(reason, "own_campaign", {"campaign_id": [_("your own campaign")]})


def place_pledge(campaign: Campaign, backer: User, cmd: NewPledge, *, require_card: bool = True) -> Pledge:
    """Record an active pledge and save the card for an off-session charge at the deadline.

    Nothing is charged here. Every check runs before anything is written or sent to the provider. Then
    the card is saved with no transaction open (`_save_card` commits the unit of work so far: no lock is
    held during the provider's round trip), and only then the reward is locked, the checks are repeated
    and the pledge is written (flushed; the caller commits). A reward sold out meanwhile is a 409, and no
    pledge is written (the saved card stays on the backer's customer, unused).
    `cmd.payment_method`: a Stripe test card number in the sandbox, a PaymentMethod id with Stripe.
    `require_card=False` (rule tests only) records a pledge without a card; settlement then asks for one.
    """
    payment_method, setup_intent = cmd.payment_method or None, cmd.setup_intent or None
    if require_card and not (payment_method or setup_intent):
        raise ValidationFailed.field("payment_method", _("Add a card to pledge."))

    def check(lock: bool) -> tuple[Reward | None, int]:
        _check_not_own(campaign, backer)
        reward = reward_of(campaign, cmd.reward_id)
        _check_currency_matches(campaign, cmd.currency)
        _check_open(campaign)
        return reward, _check_reward(campaign, reward, cmd.amount, cmd.shipping_region, lock=lock)

    reward, shipping_fee = check(lock=False)
    card = provider = None
    if payment_method or setup_intent:
        provider, card = _save_card(backer, payment_method, setup_intent)
        reward, shipping_fee = check(lock=True)  # a new transaction: the campaign or the stock may have changed
    else:
        _check_stock(reward)
    amount = cmd.amount
    pledge = Pledge(campaign_id=campaign.id, backer_id=backer.id, reward_id=reward.id if reward else None,
                    amount=amount, extra_support=amount - (reward.amount if reward else amount),
                    shipping_region=_region(reward, cmd.shipping_region),
                    shipping_fee=shipping_fee, status=PledgeStatus.ACTIVE)
    if card is not None:
        pledge.provider = provider.name
        pledge.customer_ref, pledge.payment_method_ref, pledge.card_label = (
            card.customer_ref, card.payment_method_ref, card.label)
        pledge.setup_intent_ref = setup_intent
    db.session.add(pledge)
    db.session.flush()
    audit.record("pledge.created", pledge, after={"campaign_id": campaign.id, "amount": amount,
                                                  "currency": campaign.currency, "reward_id": pledge.reward_id,
                                                  "shipping_fee": shipping_fee, "card": pledge.card_label},
                 actor_id=backer.id)
    notices.pledge_receipt(pledge)
    return pledge


def update_pledge(pledge: Pledge, cmd: PledgeChange) -> Pledge:
    """The backer changes reward or amount until the deadline."""
    campaign = pledge.campaign
    _check_not_own(campaign, pledge.backer)
    reward = reward_of(campaign, cmd.reward_id)
    _check_currency_matches(campaign, cmd.currency)
    if pledge.status != PledgeStatus.ACTIVE:
        raise Conflict(_("Only an active pledge can be changed."), {"status": [pledge.status]})
    _check_open(campaign)
    amount = cmd.amount
    shipping_fee = _check_reward(campaign, reward, amount, cmd.shipping_region, ignore_pledge=pledge)
    before = {"amount": pledge.amount, "reward_id": pledge.reward_id, "shipping_fee": pledge.shipping_fee}
    pledge.amount = amount
    pledge.reward_id = reward.id if reward else None
    pledge.extra_support = amount - (reward.amount if reward else amount)
    pledge.shipping_fee = shipping_fee
    pledge.shipping_region = _region(reward, cmd.shipping_region)
    pledge.updated_at = utcnow()
    db.session.flush()
    audit.record("pledge.changed", pledge, before=before,
                 after={"amount": amount, "reward_id": pledge.reward_id, "shipping_fee": shipping_fee,
                        "currency": campaign.currency})
    return pledge


def change_card(pledge: Pledge, cmd: CardChange) -> Pledge:
    """A new card for an active pledge, or for an errored one (settlement then retries it). The card is
    saved with no transaction open; the pledge is then locked and its state checked again before writing."""
    from funding.attempts import lock_pledge

    def check(pledge: Pledge) -> None:
        if pledge.status not in (PledgeStatus.ACTIVE, PledgeStatus.ERRORED, PledgeStatus.NEEDS_AUTHENTICATION):
            raise Conflict(_("The card of this pledge can no longer be changed."), {"status": [pledge.status]})

    check(pledge)
    pledge_id = pledge.id
    setup_intent = cmd.setup_intent or None
    provider, card = _save_card(pledge.backer, cmd.payment_method or None, setup_intent)
    pledge = lock_pledge(pledge_id)  # (the same object, reloaded: settlement may have moved it meanwhile)
    check(pledge)
    before = {"card": pledge.card_label}
    pledge.provider = provider.name
    pledge.customer_ref, pledge.payment_method_ref, pledge.card_label = (
        card.customer_ref, card.payment_method_ref, card.label)
    pledge.setup_intent_ref = setup_intent
    pledge.updated_at = utcnow()
    db.session.flush()
    audit.record("pledge.card_changed", pledge, before=before, after={"card": card.label})
    return pledge


CARD_NEEDED = (PledgeStatus.ACTIVE, PledgeStatus.ERRORED, PledgeStatus.NEEDS_AUTHENTICATION)


def needs_card(pledge: Pledge) -> bool:
    """The pledge still has to be charged but no working card is saved on it."""
    return pledge.status in CARD_NEEDED and not pledge.payment_method_ref


def card_setup_failed(pledge: Pledge, setup_intent: str | None, error: str = "") -> bool:
    """The provider could not save the pledge's card (setup_intent.setup_failed): forget that card and ask the
    backer, in their language, for another one. False when the pledge no longer needs a card."""
    from portal.urls import external_url

    if pledge.status not in CARD_NEEDED:
        return False
    before = {"card": pledge.card_label, "payment_method": pledge.payment_method_ref}
    pledge.payment_method_ref = None
    pledge.card_label = ""
    pledge.updated_at = utcnow()
    db.session.flush()
    audit.record("pledge.card_setup_failed", pledge, before=before,
                 after={"setup_intent": setup_intent, "error": error[:200]}, actor_id=None)
    campaign = pledge.campaign
    send_to_user(pledge.backer, lambda: (
        _("Your card for %(title)s could not be saved", title=campaign.title),
        _("Hello %(name)s,\n\nYour bank did not let us save your card for your pledge to %(title)s, so it could "
          "not be charged when the campaign ends. Add another card here:\n%(link)s",
          name=pledge.backer.name, title=campaign.title,
          link=external_url("funding.pledge_detail", pledge_id=pledge.id) + "#card")), kind="pledge.payment")
    return True


def cancel_pledge(pledge: Pledge) -> Pledge:
    """The backer withdraws an active pledge before the deadline."""
    if pledge.status != PledgeStatus.ACTIVE or pledge.campaign.status != CampaignStatus.LIVE \
            or pledge.campaign.deadline <= utcnow():
        raise Conflict(_("This pledge can no longer be cancelled."), {"status": [pledge.status]})
    set_pledge_status(pledge, PledgeStatus.CANCELLED, "pledge.cancelled")
    return pledge


def pledges_of(backer: User) -> list[Pledge]:
    return list(db.session.scalars(select(Pledge).where(Pledge.backer_id == backer.id)
                                   .order_by(Pledge.created_at.desc())))


def pledge_histories(pledges: Iterable[Pledge]) -> dict[int, list[audit.AuditEvent]]:
    """{pledge id: its audit events, oldest first} for many pledges in one query: every state change of a
    pledge is in the hash-chained audit log (see `set_pledge_status`)."""
    ids = {str(p.id): p.id for p in pledges}
    history: dict[int, list[audit.AuditEvent]] = {pid: [] for pid in ids.values()}
    if not ids:
        return history
    for event in db.session.scalars(select(audit.AuditEvent).where(
            audit.AuditEvent.object_type == "Pledge", audit.AuditEvent.object_id.in_(ids))
            .order_by(audit.AuditEvent.id)):
        history[ids[event.object_id]].append(event)
    return history


# ---- refunds (admins, or the campaign's team): funding/refunds.py (it commits around the provider call) ------

def refundable_pledges(campaign: Campaign) -> list[Pledge]:
    """Collected (or disputed) pledges with money left to give back, backers loaded (the team's refund list)."""
    from sqlalchemy.orm import selectinload

    return list(db.session.scalars(
        select(Pledge).options(selectinload(Pledge.backer))
        .where(Pledge.campaign_id == campaign.id, Pledge.status.in_((PledgeStatus.COLLECTED, PledgeStatus.DISPUTED)),
               Pledge.payment_ref.is_not(None))
        .order_by(Pledge.id)))
