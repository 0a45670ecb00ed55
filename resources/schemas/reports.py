"""Reports: a startup's monthly statement, a company's utilisation, the public idle capacity."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from flask_babel import gettext as _
from pydantic import BeforeValidator, Field, WithJsonSchema

from portal.schemas import MoneyOut, Out, Query
from resources.schemas.bookings import SlotOut
from resources.schemas.common import Moment


def _month(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.strptime(value.strip(), "%Y-%m").date()
        except ValueError:
            raise ValueError(_("Use YYYY-MM.")) from None
    return value


Month = Annotated[date, BeforeValidator(_month),
                  WithJsonSchema({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "examples": ["2026-12"]})]


class MonthQuery(Query):
    month: Month | None = Field(None, description="YYYY-MM (default: this month, China time)")


class UtilisationWindow(Query):
    start: Moment | None = Field(None, alias="from", description="ISO 8601 (default 30 days ago)")
    end: Moment | None = Field(None, alias="to", description="ISO 8601 (default now)")


# ---- responses ---------------------------------------------------------------------------------------

class StatementLineOut(Out):
    booking_id: int
    resource: str
    start: datetime | None
    end: datetime | None
    kind: str = Field(description="booking or late_cancel_fee")
    status: str
    price: MoneyOut
    credit_applied: MoneyOut
    amount: MoneyOut


class CreditBalanceOut(Out):
    company_id: int
    company: str
    granted: MoneyOut
    used: MoneyOut
    available: MoneyOut


class StatementOut(Out):
    organisation_id: int
    month: str
    lines: list[StatementLineOut]
    totals: list[MoneyOut]
    credits_applied: list[MoneyOut]
    credit_balances: list[CreditBalanceOut]


class UtilisationOut(Out):
    resource_id: int
    name: str
    open_hours: float
    booked_hours: float
    idle_hours: float
    utilisation: float


class IdleResourceOut(Out):
    id: int
    name: str
    kind: str
    city: str
    organisation: str


class IdleOut(Out):
    resource: IdleResourceOut
    free_hours: float
    windows: list[SlotOut]


__all__ = [
    "CreditBalanceOut", "IdleOut", "IdleResourceOut", "Month", "MonthQuery", "StatementLineOut", "StatementOut",
    "UtilisationOut", "UtilisationWindow",
]
