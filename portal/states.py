"""Statuses and their transitions, in one shape for every domain.

A status is a `Status` (an `enum.StrEnum`: its members are the strings stored in the database, so
`ProjectStatus.DRAFT == "draft"`); `status_check(Status, column)` is the CHECK constraint that keeps any
other value out of the column; `transition(obj, to, allowed)` is the one guard that moves an object
from its current status to another, refusing a move its table does not allow with a 409 naming
`status` (and the current one). A fixed set of kinds (a resource's kind, a ledger entry's kind) is a
`Choice`, checked the same way.

The transition tables live next to their models (`PROJECT_TRANSITIONS`, `BOOKING_TRANSITIONS` ...):
`{status: (statuses it may move to, ...)}`; a status missing from the table moves nowhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint

from portal.errors import Conflict


class Choice(StrEnum):
    """Base of every enum stored as a string column (kinds, modes, roles); members are their values.

    `member.label` is the translated name a person reads (from `LABELS`, keyed by the enum's class
    name); templates print any such value with the `label` filter, never the raw value.
    """

    @property
    def label(self) -> str:
        return label_for(self.value, type(self).__name__)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)

    @classmethod
    def has(cls, value: object) -> bool:
        """`value in Enum` without the TypeError Python 3.11 raises for a string that is no member."""
        return isinstance(value, str) and value in cls._value2member_map_


class Status(Choice):
    """Base of every status enum."""


def status_check(status: type[StrEnum], column: str = "status", name: str | None = None) -> CheckConstraint:
    """`CHECK (column IN (...))` over the enum's values (name it for a stable migration).

    The name goes through the metadata's naming convention: `name="status_valid"` on table `project`
    is the constraint `ck_project_status_valid`.
    """
    values = ", ".join(f"'{member.value}'" for member in status)
    return CheckConstraint(f"{column} IN ({values})", name=name or f"{column}_valid")


# A refusal message: a fixed text, or built from (current status, target status).
Message = str | Callable[[str, str], str] | None


def can_transition(current: str, to: str, allowed: Mapping[str, Iterable[str]]) -> bool:
    return to in tuple(allowed.get(current, ()))


def check_transition(obj: Any, to: str, allowed: Mapping[str, Iterable[str]], *, field: str = "status",
                     message: Message = None) -> str:
    """409 naming `field` (with the current status) unless `allowed[current]` lists `to`. Returns the current."""
    current = getattr(obj, field)
    if not can_transition(current, to, allowed):
        # The message names statuses as people read them ("confirmed" is "已确认" in zh-CN).
        text = message(label_for(current), label_for(to)) if callable(message) else message
        raise Conflict(text or _("This cannot be done in the current state."), {field: [str(current)]})
    return current


def transition(obj: Any, to: str, allowed: Mapping[str, Iterable[str]], *, field: str = "status",
               message: Message = None) -> str:
    """Move `obj.<field>` to `to` if `allowed[current]` lists it; otherwise 409. Returns the old status."""
    current = check_transition(obj, to, allowed, field=field, message=message)
    setattr(obj, field, to)
    return current


# What a person reads for every value of every `Choice`, one table per enum (keyed by class name, so
# this module imports no domain model). tests/portal/test_labels.py fails for a member missing here.
LABELS: dict[str, dict[str, Any]] = {
    # portal
    "Role": {"founder": _l("Founder"), "company": _l("Anchor company"), "mentor": _l("Mentor"),
             "backer": _l("Backer"), "admin": _l("Platform admin")},
    "OrganisationKind": {"startup": _l("Startup"), "company": _l("Anchor company")},
    "MemberRole": {"owner": _l("owner"), "member": _l("member")},
    "InvitationStatus": {"invited": _l("Waiting for an answer"), "accepted": _l("Accepted"),
                         "declined": _l("Declined"), "expired": _l("Expired")},
    # incubation
    "ProjectStage": {"idea": _l("Idea"), "prototype": _l("Prototype"), "mvp": _l("Minimum viable product"),
                     "revenue": _l("Revenue"), "scale": _l("Scaling up")},
    "IncubationMode": {"internal": _l("Internal incubation"), "spin_off": _l("Spin-off incubation"),
                       "crowdfunding": _l("Crowdfunding"), "open_source": _l("Open source")},
    "ProjectStatus": {"draft": _l("Draft"), "submitted": _l("Submitted"), "screening": _l("Screening"),
                      "needs_info": _l("Needs information"), "accepted": _l("Accepted"),
                      "rejected": _l("Rejected"), "incubating": _l("Incubating"), "graduated": _l("Graduated"),
                      "withdrawn": _l("Withdrawn")},
    "Confidentiality": {"public": _l("Public"), "registered": _l("Registered users"),
                        "nda": _l("Only after accepting the NDA")},
    "ApplicationStatus": {"submitted": _l("Submitted"), "under_review": _l("Under review"),
                          "accepted": _l("Accepted"), "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn")},
    "Recommendation": {"yes": _l("Invest"), "maybe": _l("Maybe"), "no": _l("Do not invest")},
    "ChainStage": {"rnd": _l("R&D"), "design": _l("Design"), "manufacturing": _l("Manufacturing"),
                   "sales": _l("Sales"), "logistics": _l("Logistics"), "after_sales": _l("After-sales")},
    "SupportStatus": {"open": _l("Open"), "in_progress": _l("In progress"), "closed": _l("Closed")},
    # resources
    "ResourceKind": {"lab": _l("Lab"), "equipment": _l("Equipment"), "workshop": _l("Workshop"),
                     "production_line": _l("Production line")},
    "Audience": {"incubatee": _l("Incubated startups"), "startup": _l("Other startups"),
                 "external": _l("External customers")},
    "PriceUnit": {"hour": _l("per hour"), "use": _l("per use")},
    "BlackoutKind": {"blackout": _l("Closed"), "maintenance": _l("Maintenance"), "outage": _l("Out of order")},
    "BookingStatus": {"pending": _l("pending"), "confirmed": _l("confirmed"), "completed": _l("completed"),
                      "cancelled": _l("cancelled"), "rejected": _l("rejected"), "no_show": _l("no-show")},
    "WaitlistStatus": {"waiting": _l("On the waiting list"), "promoted": _l("Offered a slot"),
                       "withdrawn": _l("Withdrawn")},
    "TrainingStatus": {"open": _l("Requested"), "granted": _l("Trained"), "declined": _l("Declined")},
    # funding
    "FundingModel": {"all_or_nothing": _l("All or nothing"), "keep_it_all": _l("Keep it all")},
    "CampaignStatus": {"draft": _l("Draft"), "submitted": _l("Awaiting approval"), "live": _l("Live"),
                       "successful": _l("Successful"), "failed": _l("Not funded"), "fulfilled": _l("Fulfilled"),
                       "cancelled": _l("Cancelled")},
    "PledgeStatus": {"active": _l("Active"), "cancelled": _l("Cancelled"), "collected": _l("Collected"),
                     "errored": _l("Payment failed"), "needs_authentication": _l("Authentication required"),
                     "dropped": _l("Dropped"), "released": _l("Released"), "refunded": _l("Refunded"),
                     "disputed": _l("Disputed")},
    "AttemptStatus": {"pending": _l("Processing"), "succeeded": _l("Succeeded"), "failed": _l("Payment failed"),
                      "requires_action": _l("Authentication required")},
    "LedgerKind": {"pledged": _l("Pledged"), "collected": _l("Collected"), "dropped": _l("Dropped"),
                   "released": _l("Released"), "stripe_fee": _l("Payment provider fee"),
                   "platform_fee": _l("Platform fee"), "refund": _l("Refund"), "dispute": _l("Chargeback"),
                   "matchfunding": _l("Match funding"), "payout_due": _l("Payout due")},
    "FinancingStatus": {"submitted": _l("Under review"), "approved": _l("Approved"), "rejected": _l("Rejected")},
}


def label_for(value: object, enum: str | type | None = None) -> str:
    """The translated label of a stored enum value: looked up in `enum`'s table (a class or its name),
    else in the table of the value's own class, else in the first table listing it; an unknown value
    comes back as itself (so free text passes through)."""
    if value is None:
        return ""
    if isinstance(value, Choice) and enum is None:
        enum = type(value)
    if isinstance(enum, type):
        enum = enum.__name__
    raw = str(value.value if isinstance(value, StrEnum) else value)
    table = LABELS.get(enum or "", {})
    if raw in table:
        return str(table[raw])
    for table in LABELS.values():
        if raw in table:
            return str(table[raw])
    return raw


def _table_name(enum: str | type) -> str:
    return enum if isinstance(enum, str) else enum.__name__


def labels(enum: str | type) -> dict[str, Any]:
    """`enum`'s label table, `{value: lazy label}` (a `Choice` member looks up as its value)."""
    return LABELS[_table_name(enum)]


def choices(enum: str | type, *only: object) -> list[tuple[str, Any]]:
    """`(value, lazy label)` pairs for a select, in the table's order (or `only` these values, in that order)."""
    table = labels(enum)
    values = [str(v.value if isinstance(v, StrEnum) else v) for v in only] if only else list(table)
    return [(value, table[value]) for value in values]
