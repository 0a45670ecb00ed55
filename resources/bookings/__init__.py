"""Booking rules: create (single or weekly series), approve, reject, cancel, complete, waitlist,
qualifications, outages, reviews. Flush, never commit (the request or job commits once).

One module per concern (the no-overlap guarantee is explained in locking.py); this package re-exports
their public names, so callers keep using `resources.bookings.X`. Services take the commands of
resources.schemas.
"""

from __future__ import annotations

from resources.bookings.calendars import (
    feed_bookings,
    fold_line,
    ical,
    ics_text,
    resource_calendar_token,
    user_calendar_token,
)
from resources.bookings.commands import (
    approval_queue,
    approve_booking,
    booking_history,
    cancel_booking,
    cancellation_fee,
    complete_past_bookings,
    create_booking,
    decide,
    finish_booking,
    pending_clashes,
    reject_booking,
    transition_booking,
    visible_bookings_stmt,
)
from resources.bookings.locking import (
    T,
    begin_booking_write,
    dialect,
    insert_booking,
    is_overlap,
    lock_resource,
    serialised,
    serialised_write,
    sqlite_write_lock,
)
from resources.bookings.mail import booking_status_label, company_staff, mail_booker, mail_staff
from resources.bookings.outages import (
    add_blackout,
    add_exception,
    alternatives_for,
    blackout_dict,
    blackout_period,
    cancel_for_blackout,
    delete_blackout,
    delete_exception,
    problem_notes,
    report_problem,
    resolve_problem,
    update_blackout,
    update_exception,
)
from resources.bookings.pricing import (
    CreditBalance,
    audience_for,
    available_credit,
    credit_balances,
    is_incubatee,
    quote,
    release_credit,
    take_credit,
)
from resources.bookings.qualifications import decline_training, grant_qualification, request_training
from resources.bookings.reviews import add_review, rating_of, ratings_of
from resources.bookings.rules import (
    MAX_SERIES,
    MAX_WINDOW_DAYS,
    Errors,
    Request,
    add_error,
    blocked_interval,
    booker_organisation,
    clashes,
    clean_request,
    is_qualified,
    occurrences,
    preview,
    quota_error,
    rule_errors,
    snap,
    step_minutes,
    week_bounds,
)
from resources.bookings.waitlist import join_waitlist, promote_waitlist, waiting_entries, withdraw_waitlist

__all__ = [
    "CreditBalance", "Errors", "MAX_SERIES", "MAX_WINDOW_DAYS", "Request", "T", "add_blackout", "add_error",
    "add_exception", "add_review", "alternatives_for", "approval_queue", "approve_booking", "audience_for",
    "available_credit", "begin_booking_write", "blackout_dict", "blackout_period", "blocked_interval",
    "booker_organisation", "booking_history", "booking_status_label", "cancel_booking", "cancel_for_blackout",
    "cancellation_fee", "clashes", "clean_request", "company_staff", "complete_past_bookings", "create_booking",
    "credit_balances", "decide", "decline_training", "delete_blackout", "delete_exception", "dialect",
    "feed_bookings", "finish_booking", "fold_line", "grant_qualification", "ical", "ics_text", "insert_booking",
    "is_incubatee", "is_overlap", "is_qualified", "join_waitlist", "lock_resource", "mail_booker", "mail_staff",
    "occurrences", "pending_clashes", "preview", "problem_notes", "promote_waitlist", "quota_error", "quote",
    "rating_of", "ratings_of", "reject_booking", "release_credit", "report_problem", "request_training", "resolve_problem",
    "resource_calendar_token", "rule_errors", "serialised", "serialised_write", "snap", "sqlite_write_lock",
    "step_minutes",
    "take_credit", "transition_booking", "update_blackout", "update_exception", "user_calendar_token",
    "visible_bookings_stmt", "waiting_entries", "week_bounds", "withdraw_waitlist",
]
