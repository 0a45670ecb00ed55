"""JSON API for resources: publish (company staff), list and read (public, prices included),
availability, bookings and their life cycle, calendars, qualifications, outages and reports."""

from resources.api import (
    bookings,  # noqa: F401
    calendars,  # noqa: F401
    catalogue,  # noqa: F401
    reports,  # noqa: F401
    rules,  # noqa: F401
)
from resources.api.common import bp

__all__ = ["bp"]
