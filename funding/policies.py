"""Who may see and change campaigns, rewards and pledges. Admins pass every check."""

from funding.models import Campaign, CampaignStatus, Pledge, Reward
from portal.organisations.services import role_in
from portal.permissions import Permission, policy


def _is_team(user, campaign: Campaign) -> bool:
    return role_in(user, campaign.project.organisation_id) is not None


@policy(Campaign, Permission.VIEW)
def campaign_view(user, campaign: Campaign) -> bool:
    """Drafts and campaigns awaiting approval are seen by the project's organisation only."""
    return campaign.status not in CampaignStatus.PRIVATE or _is_team(user, campaign)


@policy(Campaign, Permission.EDIT)
def campaign_edit(user, campaign: Campaign) -> bool:
    return _is_team(user, campaign)


@policy(Reward, Permission.VIEW)
def reward_view(user, reward: Reward) -> bool:
    return campaign_view(user, reward.campaign)


@policy(Reward, Permission.EDIT)
def reward_edit(user, reward: Reward) -> bool:
    return _is_team(user, reward.campaign)


@policy(Pledge, Permission.VIEW)
@policy(Pledge, Permission.EDIT)
def pledge_backer(user, pledge: Pledge) -> bool:
    """A pledge is private to its backer (and admins); campaigns show totals only."""
    return user is not None and user.id == pledge.backer_id
