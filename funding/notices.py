"""Crowdfunding notifications: mail (and in-app notices) about campaigns and pledges, each built in the
recipient's language by `portal.mail.send_to_users`. The services call these after they flushed a change."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from funding.models import PLEDGE_STATUSES_AT_DEADLINE, Campaign, CampaignComment, CampaignUpdate, Pledge
from funding.payments import card_text
from portal.auth.models import Role, User, UserRole
from portal.extensions import db
from portal.mail import send_to_user, send_to_users
from portal.money import format_money
from portal.organisations.models import Membership
from portal.urls import external_url


def admins() -> list[User]:
    return list(db.session.scalars(select(User).join(UserRole).where(UserRole.role == Role.ADMIN).order_by(User.id)))


def team_of(campaign: Campaign) -> list[User]:
    """The members of the startup whose project runs the campaign."""
    return list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                   .where(Membership.organisation_id == campaign.project.organisation_id)
                                   .order_by(User.id)))


def backers_of(campaign: Campaign) -> list[User]:
    """Everyone with a pledge that counts at the deadline (who may read backers-only updates)."""
    return list(db.session.scalars(select(User).where(User.id.in_(
        select(Pledge.backer_id).where(Pledge.campaign_id == campaign.id,
                                       Pledge.status.in_(PLEDGE_STATUSES_AT_DEADLINE)))).order_by(User.id)))


def _link(campaign: Campaign, anchor: str = "") -> str:
    return external_url("funding.campaign_detail", campaign_id=campaign.id) + anchor


def campaign_submitted(campaign: Campaign) -> None:
    link = external_url("admin.queue_campaigns")
    send_to_users(admins(), lambda: (
        _("Campaign awaiting approval: %(title)s", title=campaign.title),
        _("%(title)s (goal %(goal)s) was submitted for approval. Review it in the queue:\n%(link)s",
          title=campaign.title, goal=format_money(campaign.goal_amount, campaign.currency), link=link)),
        kind="campaign.submitted", link=link)


def campaign_approved(campaign: Campaign) -> None:
    link = _link(campaign)
    send_to_users(team_of(campaign), lambda: (
        _("Your campaign %(title)s is approved", title=campaign.title),
        _("The platform approved %(title)s: it is live and takes pledges until its deadline.\n%(link)s",
          title=campaign.title, link=link)), kind="campaign.review", link=link)


def campaign_rejected(campaign: Campaign, reason: str) -> None:
    link = _link(campaign)
    send_to_users(team_of(campaign), lambda: (
        _("Your campaign %(title)s was not approved", title=campaign.title),
        _("The platform did not approve %(title)s.\n\nThe reason:\n%(reason)s\n%(link)s",
          title=campaign.title, reason=reason or "-", link=link)), kind="campaign.review", link=link)


def campaign_ended(campaign: Campaign, pledged: int, funded: bool) -> None:
    """To the team at the deadline: funded (charges follow) or not funded (pledges released)."""
    link = _link(campaign)
    if funded:
        build = lambda: (  # noqa: E731
            _("%(title)s is funded", title=campaign.title),
            _("Congratulations: %(title)s raised %(pledged)s of its %(goal)s goal. The backers' cards are charged "
              "now; follow the money in the campaign's ledger.\n%(link)s", title=campaign.title,
              pledged=format_money(pledged, campaign.currency), goal=format_money(campaign.goal_amount,
                                                                                   campaign.currency), link=link))
    else:
        build = lambda: (  # noqa: E731
            _("%(title)s did not reach its goal", title=campaign.title),
            _("%(title)s raised %(pledged)s of its %(goal)s goal by the deadline. The pledges are released and "
              "nobody is charged.\n%(link)s", title=campaign.title, pledged=format_money(pledged, campaign.currency),
              goal=format_money(campaign.goal_amount, campaign.currency), link=link))
    send_to_users(team_of(campaign), build, kind="campaign.outcome", link=link)


def pledge_receipt(pledge: Pledge) -> None:
    campaign = pledge.campaign
    link = external_url("funding.pledge_detail", pledge_id=pledge.id)
    backer = pledge.backer or db.session.get(User, pledge.backer_id)
    send_to_user(backer, lambda: (
        _("Your pledge to %(title)s", title=campaign.title),
        _("Hello %(name)s,\n\nThank you: you pledged %(amount)s to %(title)s (shipping %(shipping)s). Nothing is "
          "charged now: your card %(card)s is charged only if the campaign succeeds, after its deadline on "
          "%(deadline)s. You can change or cancel the pledge until then:\n%(link)s",
          name=backer.name, amount=format_money(pledge.amount, campaign.currency),
          shipping=format_money(pledge.shipping_fee, campaign.currency), card=card_text(pledge.card_label) or "-",
          title=campaign.title, deadline=campaign.deadline.date().isoformat(), link=link)),
        kind="pledge.receipt", link=link)


def update_posted(update: CampaignUpdate) -> None:
    """Every backer hears of a new update (backers-only updates are for them anyway)."""
    campaign = db.session.get(Campaign, update.campaign_id)
    link = _link(campaign)
    readers = [b for b in backers_of(campaign) if b.id != update.author_id]
    send_to_users(readers, lambda: (
        _("Update from %(title)s: %(update)s", title=campaign.title, update=update.title),
        (_("An update for backers only:") + "\n" if update.backers_only else "")
        + update.body[:2000] + "\n\n" + link), kind="campaign.update", link=link)


def comment_posted(comment: CampaignComment) -> None:
    """An answer goes to the asker; a question or a comment to the campaign's team (never to the author)."""
    campaign = db.session.get(Campaign, comment.campaign_id)
    link = _link(campaign, "#comments")
    author = db.session.get(User, comment.author_id)
    if comment.parent_id is not None:
        parent = db.session.get(CampaignComment, comment.parent_id)
        asker = db.session.get(User, parent.author_id) if parent is not None else None
        if asker is None or asker.id == author.id:
            return
        send_to_user(asker, lambda: (
            _("%(name)s answered you on %(title)s", name=author.name, title=campaign.title),
            _("You wrote: %(question)s\n\n%(name)s answers: %(answer)s\n\n%(link)s", question=parent.body[:500],
              name=author.name, answer=comment.body[:2000], link=link)),
            kind="campaign.answer", link=link)
        return
    team = [m for m in team_of(campaign) if m.id != author.id]
    if comment.is_question:
        send_to_users(team, lambda: (
            _("New question on %(title)s", title=campaign.title),
            _("%(name)s asks: %(question)s\n\nAnswer it on the campaign page:\n%(link)s", name=author.name,
              question=comment.body[:2000], link=link)), kind="campaign.answer", link=link)
    else:
        send_to_users(team, lambda: (
            _("New comment on %(title)s", title=campaign.title),
            _("%(name)s wrote: %(comment)s\n\n%(link)s", name=author.name, comment=comment.body[:2000],
              link=link)), kind="campaign.comment", link=link)
