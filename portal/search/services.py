"""The search service: runs the query on the backend (backend.py), checks every hit against the
caller's permissions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import select

from portal.extensions import db
from portal.permissions import Permission, can
from portal.search import documents, registry
from portal.search.backend import get_backend
from portal.search.interfaces import (
    PRICE_BUCKETS,
    Hit,
    Result,
    SearchQuery,
    SearchUnavailable,
    bucket_label,
)
from portal.search.text import snippet


@dataclass
class Item:
    type: str
    id: int
    title: str
    snippet: str
    url: str
    city: str
    price_min: int | None
    currency: str
    rating: float | None

    def as_dict(self) -> dict:
        return {"type": self.type, "id": self.id, "title": self.title, "snippet": str(self.snippet),
                "url": self.url, "city": self.city or None,
                "price_from": ({"amount": self.price_min, "currency": self.currency}
                               if self.price_min is not None and self.type == documents.RESOURCE else None),
                "rating": self.rating}


@dataclass
class Page:
    total: int
    items: list[Item]
    facets: dict[str, dict[str, int]]
    query: SearchQuery
    approximate: bool = False  # total and facets count only part of the matches (see _search_free)


def _visible(hits: list[Hit], user) -> dict[tuple[str, int], object]:
    """The hits' objects the user may see and that are still searchable (a stale index never leaks)."""
    visible: dict[tuple[str, int], object] = {}
    by_type: dict[str, list[int]] = {}
    for hit in hits:
        by_type.setdefault(hit.type, []).append(hit.id)
    for doc_type, ids in by_type.items():
        if doc_type not in registry.doc_types():
            continue
        model = documents.model_for(doc_type)
        options = registry.document_type(doc_type).load_options()
        for obj in db.session.scalars(select(model).where(model.id.in_(ids)).options(*options)):
            if documents.searchable_for(doc_type, obj) and can(user, Permission.VIEW, obj):
                visible[(doc_type, obj.id)] = obj
    return visible


AVAILABILITY_BATCH = 250
# Matching resources whose calendars are checked, best first. Beyond this the total and facets
# count only the checked ones and the result says so (`approximate`). Each check reads one resource's
# calendar: 200 took 0.12 s and 1,000 took 0.65 s on the 2-core test machine (SQLite, 7-day window,
# idle; several times that under load), so 500 keeps a request well under a second.
AVAILABILITY_LIMIT = 500


def _available_type() -> registry.DocumentType | None:
    """The document type with an availability check (resources: their booking calendars)."""
    return next((t for t in registry.document_types() if t.available is not None), None)


def _search_free(query: SearchQuery, available: registry.DocumentType) -> Result:
    """Resources free in a date window: the backend's matches, best first, kept when the booking
    calendar has room. Every match is checked up to AVAILABILITY_LIMIT: then the total and facets are
    exact; beyond it they count the checked matches only and `approximate` is set."""
    from collections import Counter

    model = available.model
    backend = get_backend()
    kept: list[Hit] = []
    checked = matching = 0
    more = False  # the backend counted only part of the matches (the built-in one: its candidate bound)
    number = 1
    size = min(AVAILABILITY_BATCH, AVAILABILITY_LIMIT)
    while checked < AVAILABILITY_LIMIT:
        candidates = backend.search(replace(query, types=(available.name,), page=number, per_page=size))
        matching = candidates.total
        hits = candidates.hits[:AVAILABILITY_LIMIT - checked]
        if not hits:
            break
        objects = {o.id: o for o in db.session.scalars(select(model).where(model.id.in_([h.id for h in hits])))}
        kept += [h for h in hits if h.id in objects and available.available(objects[h.id], query.free_from,
                                                                            query.free_to)]
        checked += len(hits)
        more = candidates.approximate
        if len(candidates.hits) < size or (checked >= matching and not more):
            break
        number += 1
    cities = Counter(h.city for h in kept if h.city)
    prices: Counter[str] = Counter()
    for hit in kept:
        for low, high in PRICE_BUCKETS:
            if hit.price_min is not None and (low is None or hit.price_min >= low) and (
                    high is None or hit.price_min < high):
                prices[bucket_label(low, high)] += 1
    facets = {"type": {available.name: len(kept)} if kept else {}, "city": dict(cities.most_common()),
              "industry": {}, "language": {}, "price": dict(prices.most_common())}
    return Result(len(kept), kept[query.offset:query.offset + query.per_page], facets,
                  approximate=matching > checked or more)


def availability_supported() -> bool:
    return _available_type() is not None


def search(query: SearchQuery, user) -> Page:
    available = _available_type() if query.free_from is not None else None
    if available is not None:
        result = _search_free(query, available)
    else:
        result = get_backend().search(query)
    visible = _visible(result.hits, user)
    items = []
    for hit in result.hits:
        if (hit.type, hit.id) not in visible:
            continue
        items.append(Item(hit.type, hit.id, hit.title, snippet([hit.body, hit.keywords, hit.title], hit.matched),
                          documents.url_for_hit(hit.type, hit.id), hit.city, hit.price_min, hit.currency,
                          hit.rating))
    dropped = len(result.hits) - len(items)
    return Page(max(0, result.total - dropped), items, result.facets, query, result.approximate)


def suggest(prefix: str, limit: int = 8) -> list[str]:
    """Titles for autocomplete. Every document is public, so titles need no per-user check."""
    return get_backend().suggest(prefix, limit)


def status() -> dict[str, dict[str, int]]:
    """Rows that should be searchable vs documents in the backend, per type."""
    from sqlalchemy import func

    from portal.search.models import SearchOutbox

    sources = documents.count_sources()
    indexed = get_backend().counts()
    pending = db.session.scalar(select(func.count(SearchOutbox.id)).where(SearchOutbox.applied_at.is_(None))) or 0
    failing = db.session.scalar(select(func.count(SearchOutbox.id)).where(
        SearchOutbox.applied_at.is_(None), SearchOutbox.attempts > 0)) or 0
    return {"types": {t: {"rows": sources[t], "indexed": indexed.get(t, 0)} for t in registry.doc_types()},
            "outbox": {"pending": pending, "failing": failing}}


def reindex(progress: Callable[[int], None] = lambda n: None) -> int:
    """Rebuild the whole index, then replay outbox rows applied while it ran (they went to the old one)."""
    from portal.db import utcnow
    from portal.search.models import SearchOutbox
    from portal.search.tasks import apply_keys, current_version

    started = utcnow()
    version = current_version()
    total = sum(documents.count_sources().values())
    count = get_backend().reindex(documents.all_documents(), total, progress, version=version)
    keys: set[tuple[str, int]] = set()
    for kind, object_id in db.session.execute(select(SearchOutbox.kind, SearchOutbox.object_id).where(
            SearchOutbox.applied_at >= started)):
        keys |= documents.expand(kind, object_id)
    if keys:
        apply_keys(keys)
    return count


__all__ = ["SearchUnavailable", "get_backend", "reindex", "search", "status", "suggest"]
