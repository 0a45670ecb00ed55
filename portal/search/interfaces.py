"""The search service contract: one query shape, one result shape, two backends behind it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from portal.search.text import normalise, query_terms

SORTS = ("relevance", "rating", "price", "newest")
# Price facet buckets, in minor units (fen): under 100, 100-500, 500-2,000, 2,000 and more.
PRICE_BUCKETS = ((None, 10_000), (10_000, 50_000), (50_000, 200_000), (200_000, None))
FACETS = ("type", "city", "industry", "language", "price")


class SearchUnavailable(Exception):
    """The backend could not answer (Elasticsearch down or timing out)."""


@dataclass
class SearchQuery:
    text: str = ""
    types: tuple[str, ...] = ()
    city: str = ""
    industry: str = ""
    language: str = ""
    kind: str = ""
    price_min: int | None = None
    price_max: int | None = None
    rating_min: float | None = None  # average rating at least this (unrated documents drop out)
    sort: str = "relevance"
    # Resources with bookable time on these local dates (checked by the service, not the backend).
    free_from: date | None = None
    free_to: date | None = None
    page: int = 1
    per_page: int = 20

    @property
    def terms(self) -> list[str]:
        return query_terms(self.text)

    @property
    def normalised(self) -> str:
        return " ".join(self.terms)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass
class Hit:
    type: str
    id: int
    title: str
    keywords: str
    body: str
    matched: list[str] = field(default_factory=list)  # the words that matched, for highlighting
    city: str = ""
    price_min: int | None = None
    currency: str = ""
    rating: float | None = None


@dataclass
class Result:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    approximate: bool = False


def bucket_label(low: int | None, high: int | None) -> str:
    return f"{low or 0}-{high}" if high is not None else f"{low}-"


def parse_bucket(label: str) -> tuple[int | None, int | None] | None:
    for low, high in PRICE_BUCKETS:
        if bucket_label(low, high) == label:
            return low, high
    return None


class SearchBackend(Protocol):
    name: str

    def search(self, query: SearchQuery) -> Result: ...

    def suggest(self, prefix: str, limit: int) -> list[str]: ...

    def apply(self, upserts: list[dict], deletes: list[tuple[str, int]], version: int = 0) -> None: ...

    def reindex(self, documents: Iterable[dict], total: int, progress: Callable[[int], None],
                version: int = 0) -> int: ...

    def counts(self) -> dict[str, int]: ...


def exact_title(title: str) -> str:
    return " ".join(query_terms(title)) or normalise(title)
