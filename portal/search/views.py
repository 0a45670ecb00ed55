"""The search page."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user

from portal.api import read_query
from portal.errors import ValidationFailed
from portal.money import format_money
from portal.search import services
from portal.search.forms import LANGUAGE_LABELS, SORT_LABELS, TYPE_LABELS, SearchForm
from portal.search.interfaces import SearchUnavailable, parse_bucket
from portal.search.schemas import SearchArgs

bp = Blueprint("search", __name__, template_folder="templates", static_folder="static",
               static_url_path="/search/static")
RATING_CHOICES = ("4.5", "4", "3")


@bp.get("/search")
def index():
    """The search page: the query string is read with the API's model (`SearchArgs`); the WTForms form only
    renders the fields, with the refusals next to them."""
    form = SearchForm(request.args)
    args = page = results = None
    unavailable = False
    status = 200
    try:
        args = read_query(SearchArgs)
    except ValidationFailed as error:
        for name, messages in error.fields.items():
            field = getattr(form, name, None) if name in form else form.q  # (page, per_page: shown by the query)
            field.errors = list(field.errors) + messages
        status = 400
    if args is not None:
        try:
            results = services.search(args.to_query(), current_user)
            page = args.page
        except SearchUnavailable:
            unavailable, status = True, 503

    def link(**changes) -> str:
        args = {k: v for k, v in request.args.items() if v}
        args.pop("page", None)
        args.update({k: v for k, v in changes.items()})
        return url_for("search.index", **{k: v for k, v in args.items() if v not in (None, "")})

    active = {name: request.args.get(name, "") for name in ("type", "city", "industry", "language")}
    rating = f"{args.rating:g}" if args is not None and args.rating is not None else ""
    rating_choices = RATING_CHOICES if rating in RATING_CHOICES or not rating else (rating, *RATING_CHOICES)
    peaks = {name: max(values.values(), default=0) for name, values in results.facets.items()} if results else {}
    price_links = []
    if results is not None:
        for label, count in results.facets.get("price", {}).items():
            low, high = parse_bucket(label) or (None, None)
            text = (f"{format_money(low or 0)} – {format_money(high)}" if high is not None
                    else f"{format_money(low)} +")
            price_links.append((text, count, link(price_min=low or None, price_max=high - 1 if high else None)))
    return render_template("search/index.html", form=form, results=results, page=page,
                           per_page=args.per_page if args is not None else SearchArgs().per_page,
                           unavailable=unavailable, link=link, active=active, type_labels=TYPE_LABELS,
                           sort_labels=SORT_LABELS, language_labels=LANGUAGE_LABELS,
                           price_links=price_links, peaks=peaks, rating_choices=rating_choices, rating=rating,
                           availability_limit=services.AVAILABILITY_LIMIT), status


SUGGEST_LIMIT = 8


@bp.get("/search/suggest")
def suggest():
    """The navbar's suggestions as one types: the search service's best hits the caller may see (title, type,
    link), topped up with matching titles that open the search page; at most SUGGEST_LIMIT, JSON."""
    from flask import jsonify

    from portal.search.interfaces import SearchQuery
    from portal.search.schemas import SuggestArgs

    try:
        args = read_query(SuggestArgs)
    except ValidationFailed:
        return jsonify({"suggestions": []}), 400
    text = args.q.strip()
    found: list[dict[str, str]] = []
    if text:
        try:
            hits = services.search(SearchQuery(text=text, per_page=SUGGEST_LIMIT), current_user).items
            found = [{"title": item.title, "url": item.url, "type": str(TYPE_LABELS.get(item.type, ""))}
                     for item in hits]
            titles = {item["title"] for item in found}
            for title in services.suggest(text, SUGGEST_LIMIT):
                if len(found) >= SUGGEST_LIMIT:
                    break
                if title not in titles:
                    found.append({"title": title, "url": url_for("search.index", q=title), "type": ""})
                    titles.add(title)
        except SearchUnavailable:
            found = []
    response = jsonify({"suggestions": found[:SUGGEST_LIMIT],
                        "search_url": url_for("search.index", q=text) if text else url_for("search.index")})
    response.headers["Cache-Control"] = "private, max-age=30"
    return response
