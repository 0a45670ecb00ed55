"""Booking prices per audience and the open-source resource credits that pay for them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from portal.extensions import db
from portal.organisations.models import Organisation, OrganisationKind
from resources.bookings.locking import dialect
from resources.models import Audience, Booking, PriceUnit, Resource

# ---- prices ------------------------------------------------------------------------------------

IncubateeCheck = Callable[[Organisation, Resource], bool]
_INCUBATEE_CHECKS: list[IncubateeCheck] = []


def incubatee_check(check: IncubateeCheck) -> IncubateeCheck:
    """Register a rule naming incubated startups (the incubation package registers its programs' rule)."""
    if check not in _INCUBATEE_CHECKS:
        _INCUBATEE_CHECKS.append(check)
    return check


def is_incubatee(organisation: Organisation, resource: Resource) -> bool:
    """An incubated startup, by any registered rule (none registered: nobody is)."""
    return any(check(organisation, resource) for check in _INCUBATEE_CHECKS)


def audience_for(organisation: Organisation | None, resource: Resource) -> str:
    """incubatee (incubated startup), startup (any other startup), external (everyone else)."""
    if organisation is None or organisation.kind != OrganisationKind.STARTUP:
        return Audience.EXTERNAL
    return Audience.INCUBATEE if is_incubatee(organisation, resource) else Audience.STARTUP


def quote(resource: Resource, audience: str, minutes: int) -> tuple[str | None, int, str]:
    """(unit, amount in minor units, currency): the hourly price pro rata if there is one, else the
    per-use price; 0 (price on request) when the table has neither for this audience."""
    currency = resource.prices[0].currency if resource.prices else "CNY"
    hourly = resource.price_for(audience, PriceUnit.HOUR)
    if hourly is not None:
        return PriceUnit.HOUR, (hourly.amount * minutes + 30) // 60, hourly.currency
    per_use = resource.price_for(audience, PriceUnit.USE)
    if per_use is not None:
        return PriceUnit.USE, per_use.amount, per_use.currency
    return None, 0, currency


# ---- open-source resource credits ----------------------------------------------------------------
# An open-source program grants each accepted startup credits (incubation.models.ResourceCredit). They are
# spent on the resources of the company that granted them (the program's company): when a member books one
# of its resources for the credited startup, the price is reduced by the available credit, never below zero.
# The credit drawn is stored on the booking (`credit_amount`) in the booking's own transaction, and given
# back (set to 0) when the booking is cancelled or rejected. The balance is grants minus credit held by
# bookings; PostgreSQL serialises concurrent draws with a row lock on the startup's grants (SQLite booking
# writes are serial anyway).

@dataclass
class CreditBalance:
    company_id: int  # the company that granted the credits; they are spent on its resources
    company_name: str
    currency: str
    granted: int = 0
    used: int = 0

    @property
    def available(self) -> int:
        return max(0, self.granted - self.used)


def credit_balances(organisation_id: int) -> list[CreditBalance]:
    """The startup's credits per granting company and currency (two grouped queries)."""
    from incubation.models import Application, Program, ResourceCredit

    balances: dict[tuple[int, str], CreditBalance] = {}
    for company_id, name, currency, granted in db.session.execute(
            select(Program.organisation_id, Organisation.name, ResourceCredit.currency, func.sum(ResourceCredit.amount))
            .join(Application, Application.id == ResourceCredit.application_id)
            .join(Program, Program.id == Application.program_id)
            .join(Organisation, Organisation.id == Program.organisation_id)
            .where(ResourceCredit.organisation_id == organisation_id)
            .group_by(Program.organisation_id, Organisation.name, ResourceCredit.currency)):
        balances[(company_id, currency)] = CreditBalance(company_id, name, currency, int(granted or 0))
    if not balances:
        return []
    for company_id, currency, used in db.session.execute(
            select(Resource.organisation_id, Booking.currency, func.sum(Booking.credit_amount))
            .join(Resource, Resource.id == Booking.resource_id)
            .where(Booking.organisation_id == organisation_id, Booking.credit_amount > 0)
            .group_by(Resource.organisation_id, Booking.currency)):
        if (company_id, currency) in balances:
            balances[(company_id, currency)].used = int(used or 0)
    return sorted(balances.values(), key=lambda b: (b.company_name, b.currency))


def available_credit(organisation: Organisation | None, resource: Resource, currency: str) -> int:
    if organisation is None:
        return 0
    return next((b.available for b in credit_balances(organisation.id)
                 if b.company_id == resource.organisation_id and b.currency == currency), 0)


def take_credit(organisation: Organisation | None, resource: Resource, currency: str, amount: int) -> int:
    """How much of `amount` the startup's credits pay, inside the booking's transaction. Call it right before
    inserting the booking with the result as its `credit_amount`."""
    if organisation is None or amount <= 0:
        return 0
    from incubation.models import ResourceCredit

    if dialect() != "sqlite":
        db.session.execute(select(ResourceCredit.id).where(ResourceCredit.organisation_id == organisation.id)
                           .with_for_update())
    return min(amount, available_credit(organisation, resource, currency))


def release_credit(booking: Booking) -> int:
    """A cancelled or rejected booking gives its credit back; returns the amount released."""
    released = booking.credit_amount or 0
    booking.credit_amount = 0
    return released
