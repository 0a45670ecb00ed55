"""Who may see and change campaigns, rewards, pledges and financing applications. Admins pass every check.

`Permission.ADMIN` has no policy here on purpose: approving campaigns is for platform admins only
(`portal.permissions.can` lets admins through and refuses everyone else). Refunds: admins, or the
campaign's team through `REFUND_BACKER`.
"""

from funding.models import PRIVATE_CAMPAIGN_STATUSES, Campaign, FinancingApplication, Pledge, Reward
from portal.organisations.services import acts_for_company, role_in
from portal.permissions import Permission, policy


def _is_team(user, campaign: Campaign) -> bool:
    return role_in(user, campaign.project.organisation_id) is not None


@policy(Campaign, Permission.VIEW)
def campaign_view(user, campaign: Campaign) -> bool:
    """Drafts and campaigns awaiting approval are seen by the project's organisation only."""
    return campaign.status not in PRIVATE_CAMPAIGN_STATUSES or _is_team(user, campaign)


@policy(Campaign, Permission.EDIT)
@policy(Campaign, Permission.MANAGE)
def campaign_edit(user, campaign: Campaign) -> bool:
    """The project's team edits the campaign, posts updates and exports backers and the ledger."""
    return _is_team(user, campaign)


@policy(Reward, Permission.VIEW)
def reward_view(user, reward: Reward) -> bool:
    return campaign_view(user, reward.campaign)


@policy(Reward, Permission.EDIT)
def reward_edit(user, reward: Reward) -> bool:
    return _is_team(user, reward.campaign)


# The campaign's team refunds one of its backers itself (platform admins may refund any pledge).
REFUND_BACKER = "refund_backer"


@policy(Pledge, REFUND_BACKER)
def pledge_refund_by_team(user, pledge: Pledge) -> bool:
    """The creators (members of the campaign's organisation) may give a backer's money back."""
    return _is_team(user, pledge.campaign)


@policy(Pledge, Permission.VIEW)
@policy(Pledge, Permission.EDIT)
def pledge_backer(user, pledge: Pledge) -> bool:
    """A pledge is private to its backer (and admins); campaigns show totals only."""
    return user is not None and user.id == pledge.backer_id


@policy(FinancingApplication, Permission.VIEW)
def financing_view(user, application: FinancingApplication) -> bool:
    """Confidential: the applicant organisation's members and the addressee's verified staff (admins pass)."""
    if user is None:
        return False
    if role_in(user, application.project.organisation_id) is not None:
        return True
    return acts_for_company(user, application.organisation)


@policy(FinancingApplication, Permission.MANAGE)
def financing_review(user, application: FinancingApplication) -> bool:
    """Score and decide: the addressee's verified staff, never for their own organisation's project.
    Applications to the platform's own fund (no addressee) are run by platform admins."""
    return (user is not None and acts_for_company(user, application.organisation)
            and role_in(user, application.project.organisation_id) is None)
