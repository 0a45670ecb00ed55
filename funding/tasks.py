"""Background jobs of funding (run after commit by `portal.jobs`)."""

from funding import settle_now, settlement


def settle_due() -> None:
    """Periodic: close campaigns past their deadline, charge pledges, follow up errored ones."""
    settlement.settle()


def retry_pledge(pledge_id: int) -> None:
    """A backer saved a new card on an errored pledge: charge it again now."""
    settlement.retry_now(pledge_id)


def settle_campaign(campaign_id: int) -> None:
    """An admin pressed "Settle now": close the campaign at once and charge its pledges."""
    settle_now.run_requested_settlement(campaign_id)
