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
from sqlalchemy import CheckConstraint

from portal.errors import Conflict


class Choice(StrEnum):
    """Base of every enum stored as a string column (kinds, modes, roles); members are their values."""

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
        text = message(str(current), str(to)) if callable(message) else message
        raise Conflict(text or _("This cannot be done in the current state."), {field: [str(current)]})
    return current


def transition(obj: Any, to: str, allowed: Mapping[str, Iterable[str]], *, field: str = "status",
               message: Message = None) -> str:
    """Move `obj.<field>` to `to` if `allowed[current]` lists it; otherwise 409. Returns the old status."""
    current = check_transition(obj, to, allowed, field=field, message=message)
    setattr(obj, field, to)
    return current
