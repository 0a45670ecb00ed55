"""HTML pages of resources: reports."""

from datetime import timedelta

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from portal.db import utcnow
from portal.exports import csv_download
from portal.organisations.models import Organisation
from portal.paging import ListPage
from portal.permissions import load
from portal.schemas import validate
from resources import reports
from resources.policies import VIEW_STATEMENTS, VIEW_UTILISATION
from resources.schemas import MonthQuery
from resources.views.common import bp

# ---- reports -------------------------------------------------------------------------------------------

@bp.get("/idle")
def idle():
    page_number = request.args.get("page", 1, type=int) or 1
    rows, total = reports.idle_capacity(page=max(1, page_number), per_page=IDLE_PER_PAGE)
    return render_template("resources/idle.html", rows=rows,
                           page=ListPage(rows, max(1, page_number), IDLE_PER_PAGE, total))


IDLE_PER_PAGE = 20


def statement_month():
    """The month of `?month=YYYY-MM` (default: this month), or 400 naming `month`."""
    return validate(MonthQuery, {k: v for k, v in request.args.items() if v}).month or reports.this_month()


@bp.get("/statements/<int:organisation_id>")
@login_required
def statement(organisation_id: int):
    organisation = load(Organisation, organisation_id, VIEW_STATEMENTS)
    month = statement_month()
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return render_template("resources/statement.html", statement=reports.monthly_statement(organisation, month),
                           previous=previous.strftime("%Y-%m"), following=following.strftime("%Y-%m"),
                           month_arg=month.strftime("%Y-%m"))


@bp.get("/statements/<int:organisation_id>.csv")
@login_required
def statement_csv(organisation_id: int):
    organisation = load(Organisation, organisation_id, VIEW_STATEMENTS)
    month = statement_month()
    return csv_download(reports.statement_csv(reports.monthly_statement(organisation, month)),
                        f"resource-statement-{organisation.id}-{month:%Y-%m}.csv")


@bp.get("/utilisation/<int:organisation_id>")
@login_required
def utilisation(organisation_id: int):
    organisation = load(Organisation, organisation_id, VIEW_UTILISATION)
    try:
        days = max(1, min(366, int(request.args.get("days") or 30)))
    except ValueError:
        days = 30
    now = utcnow()
    rows = reports.utilisation(organisation, now - timedelta(days=days), now + timedelta(days=days))
    chart = reports.utilisation_chart(rows, _("Booked hours"), _("Idle hours"))
    return render_template("resources/utilisation.html", organisation=organisation, rows=rows, chart=chart,
                           days=days, uses_charts=True)
