"""GET /api/v1/search and /api/v1/search/suggest (see API.md, Search)."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import api_blueprint, doc, page_args, raise_form_errors
from portal.errors import PortalError, ValidationFailed
from portal.search import services
from portal.search.forms import SearchForm
from portal.search.interfaces import SearchQuery, SearchUnavailable
from portal.search.text import MAX_QUERY_LENGTH

bp = api_blueprint("search_api", __name__)
MAX_WINDOW = 10_000  # deepest result reachable by paging (Elasticsearch's max_result_window)


class SearchDown(PortalError):
    status = 503
    code = "search_unavailable"


def query_from_request() -> SearchQuery:
    form = SearchForm(request.args)
    if not form.validate():
        raise_form_errors(form)
    page, per_page = page_args()
    if page * per_page > MAX_WINDOW:
        raise ValidationFailed.field("page", _("Results beyond the first %(n)s cannot be paged to; narrow the search.",
                                               n=MAX_WINDOW))
    return form.to_query(page, per_page)


def run_search(query: SearchQuery) -> services.Page:
    try:
        return services.search(query, current_user)
    except SearchUnavailable:
        raise SearchDown(_("Search is unavailable right now. Try again in a moment.")) from None


@bp.get("/search")
@doc("Search mentors, labs and equipment, projects and live campaigns", auth=False,
     query={"q": f"words to find (at most {MAX_QUERY_LENGTH} characters; operators are treated as text)",
            "type": "mentor, resource, project or campaign", "city": "exact city (see facets.city)",
            "industry": "exact industry (see facets.industry)", "language": "mentor language code, e.g. zh",
            "kind": "resource kind or project stage", "price_min": "lowest price from, minor units",
            "price_max": "lowest price up to, minor units",
            "rating": "average rating at least this, 1 to 5 (resources: reviews of completed bookings)",
            "free_from": ("YYYY-MM-DD: only resources with bookable time from this local date. The calendars of "
                          f"the best {services.AVAILABILITY_LIMIT:,} matches are checked; beyond that the response's "
                          "`approximate` is true and total and facets count the checked ones"),
            "free_to": "YYYY-MM-DD: last local date of that window (default free_from; at most 31 days)",
            "sort": "relevance, rating, price or newest",
            "page": "page number, from 1", "per_page": "1 to 100, default 20"},
     responses={400: "Invalid parameter (named in error.fields)", 503: "Search backend unavailable"})
def search():
    query = query_from_request()
    page = run_search(query)
    return jsonify({"total": page.total, "approximate": page.approximate, "page": query.page,
                    "per_page": query.per_page, "items": [item.as_dict() for item in page.items],
                    "facets": page.facets})


@bp.get("/search/suggest")
@doc("Autocomplete: titles starting with (or containing) what was typed", auth=False,
     query={"q": "what has been typed so far", "limit": "1 to 20, default 8"},
     responses={400: "Query too long", 503: "Search backend unavailable"})
def suggest():
    raw = request.args.get("q", "")
    if len(raw) > MAX_QUERY_LENGTH:
        raise ValidationFailed.field("q", _("At most %(n)s characters.", n=MAX_QUERY_LENGTH))
    try:
        limit = int(request.args.get("limit") or 8)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 20:
        raise ValidationFailed.field("limit", _("limit must be between 1 and 20"))
    try:
        suggestions = services.suggest(raw, limit) if raw.strip() else []
    except SearchUnavailable:
        raise SearchDown(_("Search is unavailable right now. Try again in a moment.")) from None
    return jsonify({"suggestions": suggestions})
