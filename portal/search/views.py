"""The search page."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user

from portal.api import int_arg
from portal.errors import ValidationFailed
from portal.money import format_money
from portal.search import services
from portal.search.forms import LANGUAGE_LABELS, SORT_LABELS, TYPE_LABELS, SearchForm
from portal.search.interfaces import SearchUnavailable, parse_bucket

bp = Blueprint("search", __name__, template_folder="templates", static_folder="static",
               static_url_path="/search/static")
PER_PAGE = 20
RATING_CHOICES = ("4.5", "4", "3")
MAX_PAGE = 500


@bp.get("/search")
def index():
    form = SearchForm(request.args)
    page = results = None
    unavailable = False
    status = 200
    if form.validate():
        try:
            number = int_arg("page", 1, 1, MAX_PAGE)
        except ValidationFailed as error:
            form.q.errors = list(form.q.errors) + error.fields.get("page", [])
            number, status = 1, 400
        if status == 200:
            try:
                results = services.search(form.to_query(number, PER_PAGE), current_user)
                page = number
            except SearchUnavailable:
                unavailable, status = True, 503
    else:
        status = 400

    def link(**changes) -> str:
        args = {k: v for k, v in request.args.items() if v}
        args.pop("page", None)
        args.update({k: v for k, v in changes.items()})
        return url_for("search.index", **{k: v for k, v in args.items() if v not in (None, "")})

    active = {name: request.args.get(name, "") for name in ("type", "city", "industry", "language")}
    rating = f"{form.rating.data:g}" if form.rating.data is not None and not form.rating.errors else ""
    rating_choices = RATING_CHOICES if rating in RATING_CHOICES or not rating else (rating, *RATING_CHOICES)
    peaks = {name: max(values.values(), default=0) for name, values in results.facets.items()} if results else {}
    price_links = []
    if results is not None:
        for label, count in results.facets.get("price", {}).items():
            low, high = parse_bucket(label) or (None, None)
            text = (f"{format_money(low or 0)} – {format_money(high)}" if high is not None
                    else f"{format_money(low)} +")
            price_links.append((text, count, link(price_min=low or None, price_max=high - 1 if high else None)))
    return render_template("search/index.html", form=form, results=results, page=page, per_page=PER_PAGE,
                           unavailable=unavailable, link=link, active=active, type_labels=TYPE_LABELS,
                           sort_labels=SORT_LABELS, language_labels=LANGUAGE_LABELS,
                           price_links=price_links, peaks=peaks, rating_choices=rating_choices, rating=rating,
                           availability_limit=services.AVAILABILITY_LIMIT), status
