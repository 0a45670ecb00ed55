"""The typed commands of resources (API bodies, query strings, HTML forms) and what its API answers, one
module per subdomain. See portal/schemas.py for the shared field types."""

from resources.schemas.bookings import *  # noqa: F403
from resources.schemas.catalogue import *  # noqa: F403
from resources.schemas.common import (  # noqa: F401
    MAX_AMOUNT,
    AudienceName,
    BlackoutKindName,
    Body,
    BookingStatusName,
    Kind,
    Moment,
    UnitName,
    in_utc,
)
from resources.schemas.reports import *  # noqa: F403
from resources.schemas.staff import *  # noqa: F403
