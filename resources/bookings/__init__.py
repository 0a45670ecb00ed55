"""Booking rules: create (single or weekly series), approve, reject, cancel, complete, waitlist,
qualifications, outages, reviews. Flush, never commit (the request or job commits once).

One module per concern (the no-overlap guarantee is explained in locking.py); this package re-exports
their names, so callers keep using `resources.bookings.X`.
"""

from __future__ import annotations

from resources.bookings.calendars import (
    _fold,
    _ics_text,
    feed_bookings,
    ical,
    resource_calendar_token,
    user_calendar_token,
)
from resources.bookings.commands import (
    _decide,
    _transition,
    approval_queue,
    approve_booking,
    booking_history,
    cancel_booking,
    cancellation_fee,
    complete_past_bookings,
    create_booking,
    finish_booking,
    pending_clashes,
    reject_booking,
    visible_bookings_stmt,
)
from resources.bookings.locking import (
    T,
    _dialect,
    _insert,
    _is_overlap,
    _sqlite_write_lock,
    begin_booking_write,
    lock_resource,
    serialised,
    serialised_write,
)
from resources.bookings.mail import _mail_booker, _mail_staff, booking_status_label, mail_user
from resources.bookings.outages import (
    _cancel_for_blackout,
    _check_exception,
    add_blackout,
    add_exception,
    alternatives_for,
    blackout_dict,
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
    _release_credit,
    audience_for,
    available_credit,
    credit_balances,
    is_incubatee,
    quote,
    take_credit,
)
from resources.bookings.qualifications import decline_training, grant_qualification, request_training
from resources.bookings.reviews import add_review, rating_of
from resources.bookings.rules import (
    MAX_SERIES,
    MAX_WINDOW_DAYS,
    Errors,
    Request,
    _add,
    _blocked,
    _booker_organisation,
    _int_value,
    _truthy,
    clashes,
    clean_request,
    is_qualified,
    occurrences,
    parse_moment,
    preview,
    quota_error,
    rule_errors,
    week_bounds,
)
from resources.bookings.waitlist import join_waitlist, promote_waitlist, waiting_entries, withdraw_waitlist

__all__ = [
    "CreditBalance", "Errors", "MAX_SERIES", "MAX_WINDOW_DAYS", "Request", "T", "_add", "_blocked",
    "_booker_organisation", "_cancel_for_blackout", "_check_exception", "_decide", "_dialect", "_fold",
    "_ics_text", "_insert", "_int_value", "_is_overlap", "_mail_booker", "_mail_staff", "_release_credit",
    "_sqlite_write_lock", "_transition", "_truthy", "add_blackout", "add_exception", "add_review",
    "alternatives_for", "approval_queue", "approve_booking", "audience_for", "available_credit",
    "begin_booking_write", "blackout_dict", "booking_history", "booking_status_label", "cancel_booking",
    "cancellation_fee", "clashes", "clean_request", "complete_past_bookings", "create_booking",
    "credit_balances", "decline_training", "delete_blackout", "delete_exception", "feed_bookings",
    "finish_booking", "grant_qualification", "ical", "is_incubatee", "is_qualified", "join_waitlist",
    "lock_resource", "mail_user", "occurrences", "parse_moment", "pending_clashes", "preview",
    "problem_notes", "promote_waitlist", "quota_error", "quote", "rating_of", "reject_booking",
    "report_problem", "request_training", "resolve_problem", "resource_calendar_token", "rule_errors",
    "serialised", "serialised_write", "take_credit", "update_blackout", "update_exception",
    "user_calendar_token", "visible_bookings_stmt", "waiting_entries", "week_bounds", "withdraw_waitlist",
]
