"""Background work of the resources package (registered as periodic jobs in `init_app`)."""

from resources import bookings


def complete_past_bookings() -> int:
    """Confirmed bookings that ended become completed (so they can be reviewed); stale requests are rejected."""
    return bookings.complete_past_bookings()
