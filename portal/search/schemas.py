"""Search: the query string of the search page and of /api/v1/search, and what the search API answers."""

from __future__ import annotations

from datetime import date
from typing import Literal

from flask_babel import gettext as _
from pydantic import Field, ValidationInfo, field_validator

from portal.schemas import INT_MAX, Count, MoneyOut, Out, Query, line, text
from portal.search.interfaces import SearchQuery
from portal.search.services import AVAILABILITY_LIMIT
from portal.search.text import MAX_QUERY_LENGTH

MAX_FREE_WINDOW_DAYS = 31
MAX_WINDOW = 10_000  # deepest result reachable by paging (Elasticsearch's max_result_window)
AVAILABILITY_NOTE = (f"The calendars of the best {AVAILABILITY_LIMIT:,} matches are checked; beyond that the "
                     "response's `approximate` is true and total and facets count the checked ones")


class SearchArgs(Query):
    """`?q=&type=&city=...`: what to find, filters, order and page."""

    q: text(MAX_QUERY_LENGTH) = Field("", description=f"words to find (at most {MAX_QUERY_LENGTH} characters; "
                                                       "operators are treated as text)")
    type: Literal["mentor", "resource", "project", "campaign"] | None = Field(
        None, description="mentor, resource, project or campaign")
    city: line(80) = Field("", description="exact city (see facets.city)")
    industry: line(120) = Field("", description="exact industry (see facets.industry)")
    language: line(20) = Field("", description="mentor language code, e.g. zh")
    kind: line(40) = Field("", description="resource kind or project stage")
    price_min: Count | None = Field(None, description="lowest price from, minor units")
    price_max: Count | None = Field(None, description="lowest price up to, minor units")
    rating: float | None = Field(None, ge=1, le=5, allow_inf_nan=False,
                                 description="average rating at least this, 1 to 5 (resources: reviews of "
                                             "completed bookings)")
    free_from: date | None = Field(None, description="YYYY-MM-DD: only resources with bookable time from this "
                                                     f"local date. {AVAILABILITY_NOTE}")
    free_to: date | None = Field(None, description="YYYY-MM-DD: last local date of that window (default "
                                                   f"free_from; at most {MAX_FREE_WINDOW_DAYS} days)")
    sort: Literal["relevance", "rating", "price", "newest"] = Field("relevance",
                                                                   description="relevance, rating, price or newest")
    per_page: int = Field(20, ge=1, le=100, description="1 to 100, default 20")
    page: int = Field(1, ge=1, le=INT_MAX, description="page number, from 1")

    @field_validator("price_max")
    @classmethod
    def not_below_the_lower_price(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("price_min")
        if value is not None and low is not None and value < low:
            raise ValueError(_("The upper price must not be below the lower price."))
        return value

    @field_validator("free_to")
    @classmethod
    def a_short_window(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("free_from")
        if value is None:
            return value
        if start is None:
            raise ValueError(_("Give the first day too."))
        if value < start:
            raise ValueError(_("The last day must not be before the first day."))
        if (value - start).days >= MAX_FREE_WINDOW_DAYS:
            raise ValueError(_("At most %(days)s days.", days=MAX_FREE_WINDOW_DAYS))
        return value

    @field_validator("page")
    @classmethod
    def within_the_window(cls, value: int, info: ValidationInfo) -> int:
        if value * (info.data.get("per_page") or 20) > MAX_WINDOW:
            raise ValueError(_("Results beyond the first %(n)s cannot be paged to; narrow the search.", n=MAX_WINDOW))
        return value

    def to_query(self) -> SearchQuery:
        return SearchQuery(text=self.q, types=(self.type,) if self.type else (), city=self.city,
                           industry=self.industry, language=self.language, kind=self.kind,
                           price_min=self.price_min, price_max=self.price_max, rating_min=self.rating,
                           sort=self.sort, free_from=self.free_from, free_to=self.free_to or self.free_from,
                           page=self.page, per_page=self.per_page)


class SuggestArgs(Query):
    q: text(MAX_QUERY_LENGTH, strip=False) = Field("", description="what has been typed so far")
    limit: int = Field(8, ge=1, le=20, description="1 to 20, default 8")


# ---- what the API answers -------------------------------------------------------------------------

class SearchItemOut(Out):
    type: Literal["mentor", "resource", "project", "campaign"]
    id: int
    title: str
    snippet: str = Field(description="HTML-escaped text with <mark> around the matches")
    url: str
    city: str | None
    price_from: MoneyOut | None = Field(description="resources: the lowest price")
    rating: float | None


class SearchOut(Out):
    total: int = Field(ge=0)
    approximate: bool
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=100)
    items: list[SearchItemOut]
    facets: dict[str, dict[str, int]]


class SuggestOut(Out):
    suggestions: list[str]
