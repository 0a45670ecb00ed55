"""HTML pages: the catalogue, a resource's page and calendar, booking, my bookings, the approval queue,
staff tools (closures, outages, qualifications, policy, photos), statements, utilisation, idle capacity."""

from resources.views import (
    calendar,  # noqa: F401
    catalogue,  # noqa: F401
    my_bookings,  # noqa: F401
    reports,  # noqa: F401
    staff,  # noqa: F401
)
from resources.views.common import bp

__all__ = ["bp"]
