"""HTML pages of funding: campaigns, pledging, the backer's pledge, the public ledger, the team's tools,
financing applications, and the Stripe webhook endpoint. Thin: rules live in services/settlement."""

from funding.views import (
    campaigns,  # noqa: F401
    financing,  # noqa: F401
    pledges,  # noqa: F401
    webhooks,  # noqa: F401
)
from funding.views.common import TEMPLATE_GLOBALS, bp

__all__ = ["TEMPLATE_GLOBALS", "bp"]
