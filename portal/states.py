"""Statuses and their transitions, in one shape for every domain.

A status is a `Status` (an `enum.StrEnum`: its members are the strings stored in the database, so
`ProjectStatus.DRAFT == "draft"`); `status_check(Status, column)` is the CHECK constraint that keeps any
other value out of the column; `transition(obj, to, allowed)` is the one guard that moves an object
from its current status to another, refusing a move its table does not allow with a 409 naming
`status` (and the current one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint

from portal.errors import Conflict


class Status(StrEnum):
    """Base of every status enum."""

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)


def status_check(status: type[StrEnum], column: str = "status", name: str | None = None) -> CheckConstraint:
    """`CHECK (column IN (...))` over the enum's values (name it for a stable migration)."""
    values = ", ".join(f"'{member.value}'" for member in status)
    return CheckConstraint(f"{column} IN ({values})", name=name or f"ck_{column}_valid")


def can_transition(current: str, to: str, allowed: Mapping[str, Iterable[str]]) -> bool:
    return to in tuple(allowed.get(current, ()))


def transition(obj: Any, to: str, allowed: Mapping[str, Iterable[str]], *, field: str = "status",
               message: str | None = None) -> str:
    """Move `obj.<field>` to `to` if `allowed[current]` lists it; otherwise 409. Returns the old status."""
    current = getattr(obj, field)
    if not can_transition(current, to, allowed):
        raise Conflict(message or _("This cannot be done in the current state."), {field: [str(current)]})
    setattr(obj, field, to)
    return current
