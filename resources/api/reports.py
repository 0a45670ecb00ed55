"""JSON API of resources: reports."""

from datetime import date, timedelta

from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import doc, iso, money, page_args, paged, read_body, read_query, require_login
from portal.db import utcnow
from portal.exports import csv_download
from portal.organisations.models import Organisation
from portal.permissions import Permission, load
from resources import bookings, reports, services
from resources.api.common import bp, resource_json, window
from resources.models import Resource
from resources.policies import VIEW_STATEMENTS, VIEW_UTILISATION
from resources.schemas import (
    IdleOut,
    MonthQuery,
    ResourceOut,
    StatementOut,
    Terms,
    UtilisationOut,
    UtilisationWindow,
)

# ---- reports ------------------------------------------------------------------------------------------

@bp.get("/resources/idle-capacity")
@doc("Public: open windows in the next 14 days across all anchor companies' resources", auth=False,
     response=IdleOut)
def idle_capacity():
    page, per_page = page_args()
    rows, total = reports.idle_capacity(page=page, per_page=per_page)
    return jsonify(paged([{
        "resource": {"id": r.resource.id, "name": r.resource.name, "kind": r.resource.kind,
                     "city": r.resource.city, "organisation": r.resource.organisation.name},
        "free_hours": round(r.free_minutes / 60, 1),
        "windows": [{"start": iso(a), "end": iso(b)} for a, b in r.windows]} for r in rows], total, page, per_page))


@bp.get("/organisations/<int:organisation_id>/resource-statement")
@doc("Monthly statement of a startup's resource charges (members of the startup): each charge with its price, "
     "the open-source credits it drew and the amount due; totals due; the current credit balances",
     query=MonthQuery, response=StatementOut)
def statement(organisation_id: int):
    require_login()
    organisation, month = statement_scope(organisation_id, read_query(MonthQuery))
    result = reports.monthly_statement(organisation, month)
    return jsonify({"organisation_id": organisation.id, "month": month.strftime("%Y-%m"),
                    "lines": [{"booking_id": line.booking.id, "resource": line.booking.resource.name,
                               "start": iso(line.booking.start_at), "end": iso(line.booking.end_at),
                               "kind": line.kind, "status": line.booking.status,
                               "price": money(line.price, line.currency),
                               "credit_applied": money(line.credit, line.currency),
                               "amount": money(line.amount, line.currency)} for line in result.lines],
                    "totals": [money(amount, currency) for currency, amount in sorted(result.totals.items())],
                    "credits_applied": [money(amount, currency)
                                        for currency, amount in sorted(result.credit_totals.items())],
                    "credit_balances": [credit_balance_json(b) for b in result.credit_balances]})


def credit_balance_json(balance: bookings.CreditBalance) -> dict:
    """Open-source credits a startup holds for one company's resources (granted, used, available)."""
    return {"company_id": balance.company_id, "company": balance.company_name,
            "granted": money(balance.granted, balance.currency), "used": money(balance.used, balance.currency),
            "available": money(balance.available, balance.currency)}


@bp.get("/organisations/<int:organisation_id>/resource-statement.csv")
@doc("The monthly statement as CSV (members of the startup): one row per charge, amounts in minor units",
     query=MonthQuery, responses={200: "text/csv"})
def statement_csv(organisation_id: int):
    require_login()
    organisation, month = statement_scope(organisation_id, read_query(MonthQuery))
    return csv_download(reports.statement_csv(reports.monthly_statement(organisation, month)),
                        f"resource-statement-{organisation.id}-{month:%Y-%m}.csv")


def statement_scope(organisation_id: int, args: MonthQuery) -> tuple[Organisation, date]:
    """The organisation (the caller must belong to it) and the month asked for (default: this month)."""
    organisation = load(Organisation, organisation_id, VIEW_STATEMENTS)
    return organisation, args.month or reports.this_month()


@bp.get("/organisations/<int:organisation_id>/resource-utilisation")
@doc("Utilisation per resource of a company: booked hours / open hours and idle hours (company staff)",
     query=UtilisationWindow, response=UtilisationOut)
def utilisation(organisation_id: int):
    require_login()
    organisation = load(Organisation, organisation_id, VIEW_UTILISATION)
    args = read_query(UtilisationWindow)
    now = utcnow()
    start, end = window(args.start, args.end, default_start=now - timedelta(days=30), default_end=lambda _start: now,
                        max_days=366, message=_("Give a window of at most a year, ending after it starts."))
    rows = reports.utilisation(organisation, start, end)
    return jsonify({"from": iso(start), "to": iso(end), "items": [{
        "resource_id": r.resource.id, "name": r.resource.name, "open_hours": round(r.open_minutes / 60, 2),
        "booked_hours": round(r.booked_minutes / 60, 2), "idle_hours": round(r.idle_minutes / 60, 2),
        "utilisation": round(r.ratio, 4)} for r in rows]})


@bp.put("/resources/<int:resource_id>/terms")
@doc("Replace the IP/NDA terms (staff); a changed text gets the next version number, which bookers then "
     "accept with accept_terms_version", body=Terms, response=ResourceOut, responses={200: "Saved; the resource"})
def resource_terms(resource_id: int):
    require_login()
    resource = load(Resource, resource_id, Permission.EDIT)
    return jsonify(resource_json(services.update_terms(resource, read_body(Terms), current_user)))
