"""GET /api/v1/search and /api/v1/search/suggest (see API.md, Search)."""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import api_blueprint, doc, read_query
from portal.errors import PortalError
from portal.search import services
from portal.search.interfaces import SearchQuery, SearchUnavailable
from portal.search.schemas import SearchArgs, SearchOut, SuggestArgs, SuggestOut

bp = api_blueprint("search_api", __name__)


class SearchDown(PortalError):
    status = 503
    code = "search_unavailable"


def run_search(query: SearchQuery) -> services.Page:
    try:
        return services.search(query, current_user)
    except SearchUnavailable:
        raise SearchDown(_("Search is unavailable right now. Try again in a moment.")) from None


@bp.get("/search")
@doc("Search mentors, labs and equipment, projects and live campaigns", auth=False, query=SearchArgs,
     response=SearchOut, responses={400: "Invalid parameter (named in error.fields)",
                                    503: "Search backend unavailable"})
def search():
    query = read_query(SearchArgs).to_query()
    page = run_search(query)
    body = {"total": page.total, "approximate": page.approximate, "page": query.page, "per_page": query.per_page,
            "items": [item.as_dict() for item in page.items], "facets": page.facets}
    return jsonify(body)  # (one object, not a list: SearchOut describes all of it)


@bp.get("/search/suggest")
@doc("Autocomplete: titles starting with (or containing) what was typed", auth=False, query=SuggestArgs,
     response=SuggestOut, responses={400: "Query too long", 503: "Search backend unavailable"})
def suggest():
    args = read_query(SuggestArgs)
    try:
        suggestions = services.suggest(args.q, args.limit) if args.q.strip() else []
    except SearchUnavailable:
        raise SearchDown(_("Search is unavailable right now. Try again in a moment.")) from None
    return jsonify({"suggestions": suggestions})
