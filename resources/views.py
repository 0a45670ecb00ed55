"""HTML pages: the catalogue, a resource's page and calendar, booking, my bookings, the approval queue,
staff tools (closures, outages, qualifications, policy, photos), statements, utilisation, idle capacity."""

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.auth.forms import EmptyForm
from portal.db import utcnow
from portal.errors import PortalError, ValidationFailed
from portal.exports import csv_download
from portal.extensions import db
from portal.forms import attach_errors
from portal.money import format_money
from portal.organisations.models import Organisation
from portal.permissions import Permission, can, load, require
from resources import availability, bookings, reports, services
from resources.forms import (
    AUDIENCE_LABELS,
    BLACKOUT_KIND_LABELS,
    HOURS_ROWS,
    KIND_LABELS,
    PRICE_ROWS,
    UNIT_LABELS,
    BlackoutForm,
    BookingForm,
    BookingPolicyForm,
    DecisionForm,
    DeclineTrainingForm,
    ExceptionForm,
    PricesForm,
    QualificationForm,
    ResolveProblemForm,
    ResourceForm,
    ReviewForm,
    TermsForm,
    clean_blackout,
    clean_exception,
    clean_qualification,
    weekday_names,
)
from resources.models import (
    Audience,
    Blackout,
    Booking,
    BookingCalendar,
    BookingStatus,
    OpeningException,
    PriceUnit,
    ProblemReport,
    Qualification,
    Resource,
    ResourceKind,
    ResourcePhoto,
    Review,
    TrainingRequest,
    WaitlistEntry,
)
from resources.policies import (
    CANCEL_BOOKING,
    PUBLISH_RESOURCES,
    REVIEW_BOOKING,
    VIEW_STATEMENTS,
    VIEW_UTILISATION,
)

bp = Blueprint("resources", __name__, url_prefix="/resources", template_folder="templates")


@bp.app_context_processor
def labels():
    return {"resource_kind_labels": KIND_LABELS, "audience_labels": AUDIENCE_LABELS, "unit_labels": UNIT_LABELS}


@bp.get("/")
def index():
    kind = request.args.get("kind") or None
    if kind not in (None, *ResourceKind.ALL):
        kind = None
    city = (request.args.get("city") or "").strip() or None
    stmt = services.resources_query(kind=kind, city=city, viewer=current_user)
    resources = db.session.scalars(stmt.limit(200)).all()
    return render_template("resources/index.html", resources=resources, kind=kind, city=city or "",
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
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.set_published(resource, request.form.get("published") == "true", current_user)
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
        data = form.resource_data()
        data["published"] = organisation.is_verified  # an unverified company prepares a draft
        try:
            resource = services.create_resource(organisation, data, current_user)
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
        for unit in PriceUnit.ALL:  # one row per audience and unit; rows left empty are skipped
            for audience in Audience.ALL:
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
                services.update_prices(resource, [dict(p) for p in form.prices.data], current_user)
            except PortalError as error:
                attach_errors(form, error)
            else:
                flash(_("Prices saved."), "success")
                return redirect(url_for("resources.detail", resource_id=resource.id))
    else:
        form = PricesForm(data={"prices": [p.as_dict() for p in resource.prices]})
    _pad(form.prices, max(PRICE_ROWS, len(form.prices) + 2))
    return render_template("resources/prices.html", form=form, resource=resource)


# ---- calendar, booking, my bookings, approvals -------------------------------------------------------

def _calendar_context(resource: Resource, view: str, anchor: date) -> dict:
    """Days of the week (or month) around `anchor` with free slots and bookings, in local time."""
    zone = ZoneInfo(resource.timezone)
    if view == "month":
        first = anchor.replace(day=1)
        start_day = first - timedelta(days=first.weekday())
        last = (first + timedelta(days=32)).replace(day=1)
        days = (last - start_day).days
        days += (7 - days % 7) % 7
        previous, following = (first - timedelta(days=1)).replace(day=1), last
    else:
        start_day = anchor - timedelta(days=anchor.weekday())
        days = 7
        previous, following = start_day - timedelta(days=7), start_day + timedelta(days=7)
    start = availability.local_to_utc(start_day, time(0), zone)
    end = availability.local_to_utc(start_day + timedelta(days=days), time(0), zone)
    now = utcnow()
    free = availability.free_intervals(resource, max(start, now), end) if end > now else []  # past is not free
    booked = availability.occupying_bookings(resource.id, start, end,
                                             BookingStatus.OCCUPYING + (BookingStatus.PENDING,))
    blackouts = availability.blackouts_in(resource.id, start, end)
    staff = can(current_user, Permission.EDIT, resource)
    grid = []
    for offset in range(days):
        day = start_day + timedelta(days=offset)
        day_start = availability.local_to_utc(day, time(0), zone)
        day_end = availability.local_to_utc(day + timedelta(days=1), time(0), zone)
        slots = [(max(a, day_start).astimezone(zone), min(b, day_end).astimezone(zone))
                 for a, b in free if a < day_end and b > day_start]
        entries = [b for b in booked if b.start_at < day_end and b.end_at > day_start]
        grid.append({"day": day, "slots": slots, "in_month": view != "month" or day.month == anchor.month,
                     "free_minutes": availability.total_minutes(slots),
                     "bookings": [{"booking": b, "start": b.start_at.astimezone(zone), "end": b.end_at.astimezone(zone),
                                   "mine": current_user.is_authenticated and b.user_id == current_user.id,
                                   "visible": staff or (current_user.is_authenticated
                                                        and b.user_id == current_user.id)} for b in entries],
                     "blackouts": [x for x in blackouts if x.starts_at < day_end and x.ends_at > day_start]})
    return {"grid": grid, "view": view, "anchor": anchor, "previous": previous, "following": following,
            "today": now.astimezone(zone).date()}


def _show_errors(form, error: PortalError) -> dict[str, list[str]]:
    """Field errors next to their fields, the message as a flash; returns the broken rules that are no field."""
    rules = {}
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + list(messages)
        else:
            rules[name] = messages
    flash(error.message, "danger")
    return rules


def _calendar_page(resource: Resource, form: BookingForm | None = None, preview_rows=None, status: int = 200,
                   rules: dict | None = None):
    view = request.args.get("view") if request.args.get("view") in ("week", "month") else "week"
    zone = ZoneInfo(resource.timezone)
    try:
        anchor = date.fromisoformat(request.args.get("date") or "")
    except ValueError:
        anchor = utcnow().astimezone(zone).date()
    organisations = []
    if current_user.is_authenticated:
        from portal.organisations.services import organisations_of

        organisations = organisations_of(current_user)
    if form is None:
        form = BookingForm(formdata=None, accept_terms_version=None)
        if organisations:
            startups = [o for o in organisations if o.kind == "startup"]
            form.organisation_id.data = (startups or organisations)[0].id
    context = _calendar_context(resource, view, anchor)
    return render_template("resources/calendar.html", resource=resource, form=form, organisations=organisations,
                           preview_rows=preview_rows, weekday_names=weekday_names(), rules=rules or {},
                           can_edit=can(current_user, Permission.EDIT, resource), **context), status


@bp.get("/<int:resource_id>/calendar")
def calendar(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    return _calendar_page(resource)


@bp.post("/<int:resource_id>/book")
@login_required
@bookings.serialised_write
def book(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    form = BookingForm()
    data = {k: v for k, v in form.data.items() if k != "csrf_token"}
    if not form.validate():
        return _calendar_page(resource, form, status=400)
    try:
        if request.form.get("action") == "preview":
            rows = bookings.preview(resource, current_user, data)
            return _calendar_page(resource, form, preview_rows=rows)
        created = bookings.create_booking(resource, current_user, data)
    except PortalError as error:
        db.session.rollback()
        return _calendar_page(resource, form, status=error.status, rules=_show_errors(form, error))
    first = created[0]
    if first.status == BookingStatus.PENDING:
        flash(_("Request sent: the company will confirm it."), "success")
    else:
        flash(_("Booked: %(n)d slot(s) confirmed.", n=len(created)), "success")
    local_day = first.start_at.astimezone(ZoneInfo(resource.timezone)).date()
    return redirect(url_for("resources.calendar", resource_id=resource.id, date=local_day.isoformat()))


@bp.post("/<int:resource_id>/waitlist")
@login_required
@bookings.serialised_write
def waitlist(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    form = BookingForm()
    data = {k: v for k, v in form.data.items() if k != "csrf_token"}
    try:
        bookings.join_waitlist(resource, current_user, data)
    except PortalError as error:
        db.session.rollback()
        return _calendar_page(resource, form, status=error.status, rules=_show_errors(form, error))
    flash(_("You are on the waitlist; we book the slot for you if it frees."), "success")
    return redirect(url_for("resources.calendar", resource_id=resource.id))


@bp.get("/bookings")
@login_required
def my_bookings():
    rows = db.session.scalars(bookings.visible_bookings_stmt(current_user, True).limit(200)).all()
    reviewed = set(db.session.scalars(select(Review.booking_id).where(Review.user_id == current_user.id)))
    feed = db.session.get(BookingCalendar, current_user.id)
    from portal.organisations.services import organisations_of

    now = utcnow()
    # Bookings cancelled because the resource went down: offer free resources of the same kind.
    alternatives = {b.id: (b.start_at.astimezone(ZoneInfo(b.resource.timezone)).date().isoformat(),
                           bookings.alternatives_for(b)) for b in rows
                    if b.status == BookingStatus.CANCELLED and b.start_at > now
                    and availability.blackouts_in(b.resource_id, b.start_at, b.end_at)}
    return render_template("resources/my_bookings.html", bookings=rows, reviewed=reviewed, alternatives=alternatives,
                           waiting=bookings.waiting_entries(current_user),
                           startups=organisations_of(current_user, "startup"),
                           feed_url=url_for("resources_api.user_calendar_feed", token=feed.token, _external=True)
                           if feed else None, review_form=ReviewForm(formdata=None),
                           fees={b.id: bookings.cancellation_fee(b) for b in rows if b.is_open})


HISTORY_LABELS = {
    "booking.created": _l("Booked"), "booking.approved": _l("Approved"), "booking.rejected": _l("Rejected"),
    "booking.cancelled": _l("Cancelled"), "booking.completed": _l("Completed"), "booking.no_show": _l("No-show"),
    "booking.late_cancel_fee": _l("Late-cancel fee charged"),
    "booking.cancelled_by_outage": _l("Cancelled: the resource is unavailable"),
    "booking.promoted_from_waitlist": _l("Booked from the waitlist"),
}


@bp.get("/bookings/<int:booking_id>")
@login_required
def booking_detail(booking_id: int):
    booking = load(Booking, booking_id, Permission.VIEW)
    return render_template("resources/booking.html", booking=booking, resource=booking.resource,
                           history=bookings.booking_history(booking), history_labels=HISTORY_LABELS,
                           staff=can(current_user, Permission.EDIT, booking),
                           fee=bookings.cancellation_fee(booking) if booking.is_open else 0)


@bp.post("/waitlist/<int:entry_id>/withdraw")
@login_required
def waitlist_withdraw(entry_id: int):
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or entry.user_id != current_user.id:
        abort(404)
    bookings.withdraw_waitlist(entry, current_user)
    flash(_("You left the waitlist."), "success")
    return redirect(url_for("resources.my_bookings"))


@bp.post("/bookings/calendar-feed")
@login_required
def my_calendar_feed():
    bookings.user_calendar_token(current_user, rotate=bool(request.form.get("rotate")))
    flash(_("Your calendar feed address is ready."), "success")
    return redirect(url_for("resources.my_bookings"))


@bp.post("/bookings/<int:booking_id>/cancel")
@login_required
@bookings.serialised_write
def booking_cancel(booking_id: int):
    booking = load(Booking, booking_id, CANCEL_BOOKING)
    booking = bookings.cancel_booking(booking, current_user, request.form.get("reason", "")[:500])
    if booking.cancel_fee_amount:
        flash(_("Cancelled. Late-cancel fee: %(fee)s.", fee=format_money(booking.cancel_fee_amount, booking.currency)),
              "warning")
    else:
        flash(_("Cancelled, free of charge."), "success")
    return redirect(request.form.get("next") if request.form.get("next") == url_for("resources.approvals")
                    else url_for("resources.my_bookings"))


@bp.post("/bookings/<int:booking_id>/review")
@login_required
def booking_review(booking_id: int):
    booking = load(Booking, booking_id, REVIEW_BOOKING)
    form = ReviewForm()
    if not form.validate():
        raise ValidationFailed(_("Rate from 1 to 5."), {"rating": [_("Rate from 1 to 5.")]})
    bookings.add_review(booking, current_user, form.rating.data, form.comment.data or "")
    flash(_("Thank you for your review."), "success")
    return redirect(url_for("resources.my_bookings"))


@bp.get("/approvals")
@login_required
def approvals():
    queue = [(b, bookings.pending_clashes(b)) for b in bookings.approval_queue(current_user)]
    return render_template("resources/approvals.html", queue=queue, form=DecisionForm(formdata=None))


@bp.post("/bookings/<int:booking_id>/approve")
@login_required
@bookings.serialised_write
def booking_approve(booking_id: int):
    booking = load(Booking, booking_id, Permission.EDIT)
    form = DecisionForm()
    rejected = bookings.approve_booking(booking, current_user, bool(form.reject_clashing.data))
    flash(_("Approved. %(n)d clashing request(s) rejected.", n=len(rejected)), "success")
    return redirect(url_for("resources.approvals"))


@bp.post("/bookings/<int:booking_id>/reject")
@login_required
@bookings.serialised_write
def booking_reject(booking_id: int):
    booking = load(Booking, booking_id, Permission.EDIT)
    form = DecisionForm()
    bookings.reject_booking(booking, current_user, form.reason.data or "")
    flash(_("Request rejected."), "success")
    return redirect(url_for("resources.approvals"))


@bp.post("/bookings/<int:booking_id>/finish")
@login_required
@bookings.serialised_write
def booking_finish(booking_id: int):
    booking = load(Booking, booking_id, Permission.EDIT)
    bookings.finish_booking(booking, current_user, request.form.get("status", ""))
    flash(_("Booking updated."), "success")
    return redirect(url_for("resources.manage", resource_id=booking.resource_id))


# ---- staff tools -------------------------------------------------------------------------------------

@bp.route("/<int:resource_id>/manage", methods=["GET", "POST"])
@login_required
@bookings.serialised_write
def manage(resource_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    forms = {"blackout": BlackoutForm(prefix="blackout"), "exception": ExceptionForm(prefix="exception"),
             "qualification": QualificationForm(prefix="qualification"),
             "policy": BookingPolicyForm(prefix="policy", obj=resource),
             "terms": TermsForm(prefix="terms", obj=resource)}
    action = request.form.get("action")
    if request.method == "POST" and action in forms and forms[action].validate():
        form = forms[action]
        try:
            if action == "blackout":
                errors: dict = {}
                zone = ZoneInfo(resource.timezone)
                start = bookings.parse_moment(form.start.data, "start", zone, errors)
                end = bookings.parse_moment(form.end.data, "end", zone, errors)
                if errors:
                    raise ValidationFailed(_("Some fields are not valid."), errors)
                _blackout, cancelled = bookings.add_blackout(resource, start, end, form.kind.data,
                                                             form.reason.data or "", current_user)
                flash(_("Saved. %(n)d booking(s) cancelled and notified.", n=len(cancelled)), "success")
            elif action == "exception":
                day, opens, closes = clean_exception(form)
                bookings.add_exception(resource, day, opens, closes, form.note.data or "", current_user)
                flash(_("Saved."), "success")
            elif action == "qualification":
                user, expires_at = clean_qualification(form, resource)
                bookings.grant_qualification(resource, user, expires_at, current_user)
                flash(_("%(name)s is qualified.", name=user.name), "success")
            elif action == "terms":
                services.update_terms(resource, form.terms_text.data or "", current_user)
                flash(_("Saved."), "success")
            else:
                services.update_booking_policy(resource, {k: v for k, v in form.data.items()
                                                          if k != "csrf_token"}, current_user)
                flash(_("Saved."), "success")
        except PortalError as error:
            db.session.rollback()
            attach_errors(form, error)
            flash(error.message, "danger")
        else:
            return redirect(url_for("resources.manage", resource_id=resource.id))
    return _manage_page(resource, forms)


def _manage_page(resource: Resource, forms: dict, status: int = 200):
    now = utcnow()
    upcoming = db.session.scalars(select(Booking).where(
        Booking.resource_id == resource.id, Booking.end_at > now - timedelta(days=7),
        Booking.status.in_(BookingStatus.OPEN)).order_by(Booking.start_at).limit(100)).all()
    trainings = db.session.scalars(select(TrainingRequest).where(
        TrainingRequest.resource_id == resource.id, TrainingRequest.status == "open")).all()
    problems = db.session.scalars(select(ProblemReport).where(ProblemReport.resource_id == resource.id)
                                  .order_by(ProblemReport.id.desc()).limit(20)).all()
    qualifications = db.session.scalars(select(Qualification).where(Qualification.resource_id == resource.id)).all()
    exceptions = db.session.scalars(select(OpeningException).where(
        OpeningException.resource_id == resource.id, OpeningException.day >= now.date() - timedelta(days=1))
        .order_by(OpeningException.day)).all()
    blackouts = availability.blackouts_in(resource.id, now, now + timedelta(days=365))
    feed_url = (url_for("resources_api.resource_calendar_feed", resource_id=resource.id,
                        token=resource.calendar_token, _external=True) if resource.calendar_token else None)
    return render_template("resources/manage.html", resource=resource, forms=forms, upcoming=upcoming,
                           trainings=trainings, problems=problems, problem_notes=bookings.problem_notes(problems),
                           qualifications=qualifications, exceptions=exceptions, blackouts=blackouts,
                           feed_url=feed_url, now=now, zone=ZoneInfo(resource.timezone),
                           blackout_kinds=BLACKOUT_KIND_LABELS), status


def _staff_forms(resource: Resource) -> dict:
    return {"blackout": BlackoutForm(prefix="blackout", formdata=None),
            "exception": ExceptionForm(prefix="exception", formdata=None),
            "qualification": QualificationForm(prefix="qualification", formdata=None),
            "policy": BookingPolicyForm(prefix="policy", obj=resource, formdata=None),
            "terms": TermsForm(prefix="terms", obj=resource, formdata=None)}


def _staff_error(resource: Resource, error: PortalError):
    """A staff action broke a rule: nothing written, the manage page again with the reason (400/409)."""
    db.session.rollback()
    details = "; ".join(f"{name}: {' '.join(str(m) for m in messages)}" for name, messages in error.fields.items())
    flash(f"{error.message} {details}".strip(), "danger")
    return _manage_page(db.session.get(Resource, resource.id), _staff_forms(resource), status=error.status)


def _child(model, child_id: int, resource: Resource):
    row = db.session.get(model, child_id)
    if row is None or row.resource_id != resource.id:
        abort(404)
    return row


@bp.post("/<int:resource_id>/exceptions/<int:exception_id>")
@login_required
def exception_edit(resource_id: int, exception_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    row = _child(OpeningException, exception_id, resource)
    try:
        if request.form.get("action") == "delete":
            bookings.delete_exception(row, current_user)
            flash(_("Exception removed: the weekly hours apply that day."), "success")
        else:
            form = ExceptionForm()
            if not form.validate():
                raise ValidationFailed(_("Some fields are not valid."), form.errors)
            day, opens, closes = clean_exception(form)
            bookings.update_exception(row, day, opens, closes, form.note.data or "", current_user)
            flash(_("Saved."), "success")
    except PortalError as error:
        return _staff_error(resource, error)
    return redirect(url_for("resources.manage", resource_id=resource.id))


@bp.post("/<int:resource_id>/blackouts/<int:blackout_id>")
@login_required
@bookings.serialised_write
def blackout_edit(resource_id: int, blackout_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    row = _child(Blackout, blackout_id, resource)
    try:
        if request.form.get("action") == "delete":
            bookings.delete_blackout(row, current_user)
            flash(_("Closure removed: the time is bookable again."), "success")
        else:
            form = BlackoutForm()
            if not form.validate():
                raise ValidationFailed(_("Some fields are not valid."), form.errors)
            start, end = clean_blackout(form, resource)
            _row, cancelled = bookings.update_blackout(row, start, end, form.kind.data, form.reason.data or "",
                                                       current_user)
            flash(_("Saved. %(n)d booking(s) cancelled and notified.", n=len(cancelled)), "success")
    except PortalError as error:
        return _staff_error(resource, error)
    return redirect(url_for("resources.manage", resource_id=resource.id))


@bp.post("/<int:resource_id>/problems/<int:report_id>/resolve")
@login_required
def problem_resolve(resource_id: int, report_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    report = _child(ProblemReport, report_id, resource)
    form = ResolveProblemForm()
    try:
        bookings.resolve_problem(report, current_user, form.note.data or "")
    except PortalError as error:
        return _staff_error(resource, error)
    flash(_("Resolved; the reporter has been told."), "success")
    return redirect(url_for("resources.manage", resource_id=resource.id))


@bp.post("/<int:resource_id>/training/<int:request_id>/decline")
@login_required
def training_decline(resource_id: int, request_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    training = _child(TrainingRequest, request_id, resource)
    form = DeclineTrainingForm()
    try:
        bookings.decline_training(training, current_user, form.reason.data or "")
    except PortalError as error:
        return _staff_error(resource, error)
    flash(_("Training request declined; %(name)s has been told.", name=training.user.name), "success")
    return redirect(url_for("resources.manage", resource_id=resource.id))


@bp.post("/<int:resource_id>/calendar-feed")
@login_required
def resource_calendar_feed(resource_id: int):
    resource = load(Resource, resource_id, Permission.EDIT)
    bookings.resource_calendar_token(resource, rotate=bool(request.form.get("rotate")))
    flash(_("The calendar feed address is ready."), "success")
    return redirect(url_for("resources.manage", resource_id=resource.id))


@bp.post("/<int:resource_id>/photos")
@login_required
def photo_upload(resource_id: int):
    from portal.uploads import IMAGES, store_upload

    resource = load(Resource, resource_id, Permission.EDIT)
    stored = store_upload(request.files.get("photo"), field="photo", kinds=IMAGES, max_bytes=5 * 1024 * 1024,
                          uploaded_by_id=current_user.id)
    resource.photos.append(ResourcePhoto(stored_file_id=stored.id,
                                         caption=(request.form.get("caption") or "")[:255]))
    db.session.flush()
    flash(_("Photo added."), "success")
    return redirect(url_for("resources.manage", resource_id=resource.id))


@bp.get("/<int:resource_id>/photos/<int:photo_id>")
def photo(resource_id: int, photo_id: int):
    from portal.uploads import StoredFile, send_stored

    resource = load(Resource, resource_id, Permission.VIEW)
    row = db.session.get(ResourcePhoto, photo_id)
    if row is None or row.resource_id != resource.id:
        abort(404)
    return send_stored(db.session.get(StoredFile, row.stored_file_id), as_attachment=False)


@bp.post("/<int:resource_id>/problems")
@login_required
def problem(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    bookings.report_problem(resource, current_user, request.form.get("description", ""))
    flash(_("Thank you. The company has been told."), "success")
    return redirect(url_for("resources.detail", resource_id=resource.id))


@bp.post("/<int:resource_id>/training")
@login_required
def training(resource_id: int):
    resource = load(Resource, resource_id, Permission.VIEW)
    bookings.request_training(resource, current_user, request.form.get("message", ""))
    flash(_("Training requested. The company will contact you."), "success")
    return redirect(url_for("resources.detail", resource_id=resource.id))


# ---- reports -------------------------------------------------------------------------------------------

@bp.get("/idle")
def idle():
    return render_template("resources/idle.html", rows=reports.idle_capacity())


@bp.get("/statements/<int:organisation_id>")
@login_required
def statement(organisation_id: int):
    organisation = load(Organisation, organisation_id, VIEW_STATEMENTS)
    month = reports.month_arg(request.args.get("month"))
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return render_template("resources/statement.html", statement=reports.monthly_statement(organisation, month),
                           previous=previous.strftime("%Y-%m"), following=following.strftime("%Y-%m"),
                           month_arg=month.strftime("%Y-%m"))


@bp.get("/statements/<int:organisation_id>.csv")
@login_required
def statement_csv(organisation_id: int):
    organisation = load(Organisation, organisation_id, VIEW_STATEMENTS)
    month = reports.month_arg(request.args.get("month"))
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
