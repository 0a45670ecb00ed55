"""HTML pages of resources: catalogue."""

from datetime import time

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.auth.forms import EmptyForm
from portal.db import utcnow
from portal.errors import PortalError
from portal.extensions import db
from portal.forms import attach_errors
from portal.organisations.models import Organisation
from portal.paging import page_of
from portal.permissions import Permission, can, load, require
from portal.schemas import from_form
from resources import bookings, services
from resources.forms import HOURS_ROWS, PRICE_ROWS, PricesForm, PublicationForm, ResourceForm, weekday_names
from resources.models import Audience, PriceUnit, Resource, ResourceKind, Review
from resources.policies import PUBLISH_RESOURCES
from resources.schemas import NewResource, PriceTable, Publication
from resources.views.common import bp

RESOURCES_PER_PAGE = 24  # cards in rows of 2 or 3


@bp.get("/")
def index():
    kind = request.args.get("kind") or None
    if kind not in (None, *ResourceKind.values()):
        kind = None
    city = (request.args.get("city") or "").strip() or None
    stmt = services.resources_query(kind=kind, city=city, viewer=current_user)
    page = page_of(stmt, max(1, request.args.get("page", 1, type=int) or 1), RESOURCES_PER_PAGE)
    return render_template("resources/index.html", resources=page.items, kind=kind, city=city or "", page=page,
                           cities=services.cities(),
                           can_publish=current_user.is_authenticated
                           and bool(services.publishable_organisations(current_user)))


@bp.get("/<int:resource_id>")
def detail(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    names = weekday_names()
    week = [(day, names[day], resource.hours_on(day)) for day in range(7)]
    reviews = db.session.scalars(select(Review).where(Review.resource_id == resource.id)
                                 .order_by(Review.id.desc()).limit(10)).all()
    qualified = (current_user.is_authenticated
                 and bookings.is_qualified(resource, current_user, utcnow()))
    return render_template("resources/detail.html", resource=resource, week=week,
                           utc_offset=services.utc_offset_label(resource.timezone),
                           can_edit=can(current_user, Permission.EDIT, resource),
                           rating=bookings.rating_of(resource.id), reviews=reviews, qualified=qualified,
                           action_form=EmptyForm())


@bp.post("/<int:resource_id>/publication")
@login_required
def publication(resource_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    form = PublicationForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.set_published(resource, from_form(Publication, form).published, current_user)
    except PortalError as error:
        flash(error.message, "danger")
    else:
        flash(_("Published: everyone can now see and book it.") if resource.published
              else _("Withdrawn: only your company sees it now."), "success")
    return redirect(url_for("resources.detail", resource_id=resource.id))


def _rows_with(formdata: MultiDict, prefix: str, required: tuple[str, ...]) -> MultiDict:
    """Drop the empty rows of a fixed-size table in the HTML form and renumber the rest."""
    cleaned, rows = MultiDict(), {}
    for key, value in formdata.items(multi=True):
        if key.startswith(prefix + "-"):
            index, _sep, name = key[len(prefix) + 1:].partition("-")
            rows.setdefault(index, {})[name] = value
        else:
            cleaned.add(key, value)
    kept = [row for _index, row in sorted(rows.items(), key=lambda item: int(item[0]) if item[0].isdigit() else 0)
            if all((row.get(name) or "").strip() for name in required)]
    for number, row in enumerate(kept):
        for name, value in row.items():
            cleaned.add(f"{prefix}-{number}-{name}", value)
    return cleaned


def _pad(field_list, rows: int) -> None:
    while len(field_list) < rows:
        field_list.append_entry()


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    companies = services.publishable_organisations(current_user)
    if not companies and not current_user.is_admin:
        abort(403)
    if request.method == "POST":
        formdata = _rows_with(request.form, "prices", ("amount",))
        formdata = _rows_with(formdata, "opening_hours", ("start", "end"))
        form = ResourceForm(formdata=formdata)
    else:
        form = ResourceForm(organisation_id=companies[0].id if companies else None)
    if request.method == "POST" and form.validate():
        organisation = db.session.get(Organisation, form.organisation_id.data)
        if organisation is None:
            abort(400)
        require(PUBLISH_RESOURCES, organisation)
        try:
            # an unverified company prepares a draft
            cmd = from_form(NewResource, form, specifications=form.specifications(),
                            published=organisation.is_verified)
            resource = services.create_resource(organisation, cmd, current_user)
        except PortalError as error:
            attach_errors(form, error)
        else:
            if resource.published:
                flash(_("Published %(name)s.", name=resource.name), "success")
            else:
                flash(_("Saved %(name)s as a draft: it is published once a platform admin has verified your "
                        "company.", name=resource.name), "warning")
            return redirect(url_for("resources.detail", resource_id=resource.id))
    if request.method == "GET":
        for unit in PriceUnit.values():  # one row per audience and unit; rows left empty are skipped
            for audience in Audience.values():
                form.prices.append_entry({"audience": audience, "unit": unit, "currency": "CNY"})
        for weekday in range(HOURS_ROWS):  # a working week 09:00-18:00 as the starting point
            workday = weekday < 5
            form.opening_hours.append_entry({"weekday": weekday % 7, "start": time(9) if workday else None,
                                             "end": time(18) if workday else None})
    _pad(form.prices, PRICE_ROWS)
    _pad(form.opening_hours, HOURS_ROWS)
    return render_template("resources/form.html", form=form, companies=companies)


@bp.route("/<int:resource_id>/prices", methods=["GET", "POST"])
@login_required
def prices(resource_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    if request.method == "POST":
        form = PricesForm(formdata=_rows_with(request.form, "prices", ("amount",)))
        if form.validate():
            try:
                services.update_prices(resource, from_form(PriceTable, form), current_user)
            except PortalError as error:
                attach_errors(form, error)
            else:
                flash(_("Prices saved."), "success")
                return redirect(url_for("resources.detail", resource_id=resource.id))
    else:
        form = PricesForm(data={"prices": [p.as_dict() for p in resource.prices]})
    _pad(form.prices, max(PRICE_ROWS, len(form.prices) + 2))
    return render_template("resources/prices.html", form=form, resource=resource)
