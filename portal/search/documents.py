"""What is searchable, and the document each searchable object becomes.

Domain packages register their document types, the models that feed them and how outbox kinds
expand (registry.py; e.g. `resources/search.py`), so a model change is adapted in its own package.
A document holds only what anyone may see: unpublished resources, draft projects, campaigns that are
not live and deactivated mentors are never documents, and private fields (a project's problem,
solution, market, business model and team, which may sit behind an NDA; funding sought; contact
details) are never copied in. Program applications are never documents: their answers are what blind
reviewers see, and a search for an answer must not lead back to the applicant.

The registered sources tell the outbox (sync.py) which model changes touch which documents; `expand`
turns an outbox row into document keys; `build` turns a key into a document (or None: delete it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import select

from portal.extensions import db
from portal.search.registry import Key, Source, doc_types, document_type, document_types, expanders_for
from portal.search.registry import register_source as _register_source

# The search vocabulary (the `type` of /api/v1/search); each type is registered by its domain.
MENTOR, RESOURCE, PROJECT, CAMPAIGN = "mentor", "resource", "project", "campaign"
# Outbox kinds that are not document types: they expand into the documents that show their data.
USER, ORGANISATION = "user", "organisation"

__all__ = ["CAMPAIGN", "MENTOR", "ORGANISATION", "PROJECT", "RESOURCE", "USER", "Key", "Source", "all_documents",
           "as_list", "build", "build_for", "count_sources", "doc_types", "document", "expand", "model_for",
           "register_core_sources", "url_for_hit"]


def register_core_sources() -> None:
    """The portal's own models that appear in documents (a mentor's name, an organisation's city)."""
    from portal.auth.models import User
    from portal.organisations.models import Organisation

    _register_source(Source(User, lambda o: [(USER, o.id)], frozenset({"name", "is_active_account"})))
    _register_source(Source(Organisation, lambda o: [(ORGANISATION, o.id)], frozenset({"name", "city"})))


# ---- helpers for the builders ----------------------------------------------------------------

def as_list(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v]


def document(doc_type: str, obj_id: int, *, title: str, keywords: Iterable[str] = (), body: Iterable[str] = (),
             city: str = "", industries: Iterable[str] = (), languages: Iterable[str] = (), kind: str = "",
             price_min: int | None = None, price_max: int | None = None, currency: str = "",
             rating: float | None = None, created_at: datetime | None = None) -> dict:
    return {
        "type": doc_type, "id": obj_id, "title": title or "",
        "keywords": " · ".join(k for k in keywords if k), "body": "\n".join(b for b in body if b),
        "city": city or "", "industries": as_list(industries), "languages": as_list(languages), "kind": kind or "",
        "price_min": price_min, "price_max": price_max, "currency": currency or "", "rating": rating,
        "created_at": created_at,
    }


# ---- over the registered types -----------------------------------------------------------------

def model_for(doc_type: str) -> type:
    return document_type(doc_type).model


def build_for(doc_type: str, obj) -> dict | None:
    """The object's document, or None: not searchable (by its type's rule, or hidden by moderators)."""
    if obj is None or getattr(obj, "hidden_at", None) is not None:
        return None
    return document_type(doc_type).build(obj)


def searchable_for(doc_type: str, obj) -> bool:
    """Whether the object should be a document now (the check of a page of hits: no document is built)."""
    if obj is None or getattr(obj, "hidden_at", None) is not None:
        return False
    kind = document_type(doc_type)
    return kind.searchable(obj) if kind.searchable is not None else kind.build(obj) is not None


def build(key: Key) -> dict | None:
    doc_type, object_id = key
    return build_for(doc_type, db.session.get(model_for(doc_type), object_id))


def expand(kind: str, object_id: int) -> set[Key]:
    """The documents an outbox row touches (a project's campaigns show the project's title)."""
    keys: set[Key] = {(kind, object_id)} if kind in doc_types() else set()
    for expander in expanders_for(kind):
        keys |= expander(object_id)
    return keys


def all_documents(batch: int = 500) -> Iterator[dict]:
    """Every document, for a full reindex (streamed by primary key, `batch` objects at a time)."""
    for doc_type in doc_types():
        model = model_for(doc_type)
        last = 0
        while True:
            objects = db.session.scalars(select(model).where(model.id > last).order_by(model.id).limit(batch)).all()
            if not objects:
                break
            for obj in objects:
                built = build_for(doc_type, obj)
                if built is not None:
                    yield built
            last = objects[-1].id


def count_sources() -> dict[str, int]:
    """Rows that should be documents, per type (the `status` command compares them with the index)."""
    return {t.name: db.session.scalar(_unhidden(t.count(), t.model)) or 0 for t in document_types()}


def _unhidden(count, model):
    """Content hidden by moderators is in no document (`build_for`): the count leaves it out too."""
    return count.where(model.hidden_at.is_(None)) if hasattr(model, "hidden_at") else count


def url_for_hit(doc_type: str, object_id: int) -> str:
    from flask import url_for

    registered = document_type(doc_type)
    return url_for(registered.endpoint, **{registered.arg: object_id})
