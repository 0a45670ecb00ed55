"""Where domain packages tell search what is searchable, as they register dashboard panels.

A domain registers, from the module its `init_app` imports (e.g. `resources/search.py`):
- each document type it owns (`register_document_type`): the model, the builder turning an object into
  a document (or None: not searchable), the SQL count of the rows that should be documents, the page a
  hit links to, the PostgreSQL advisory lock class of its documents and, optionally, an availability
  check for the "free from ... until" filter;
- each model whose changes reach the index (`register_source`), naming the outbox rows it writes;
- how an outbox kind expands into the documents that show its data (`register_expander`), e.g. an
  organisation's name appears in its resources', projects' and campaigns' documents.

`portal.search` reads only this registry: it imports no domain package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

Key = tuple[str, int]


@dataclass(frozen=True)
class Source:
    """A model whose changes reach the index. `keys(obj)` names outbox rows; `watch` limits updates
    to changes of those attributes (None: any column change)."""

    model: type
    keys: Callable[[Any], list[Key]]
    watch: frozenset[str] | None = None


@dataclass(frozen=True)
class DocumentType:
    """A searchable type. `build(obj)` returns its document or None (not searchable); `count()` returns
    a SELECT counting the rows that should be documents; a hit links to `url_for(endpoint, **{arg: id})`;
    `available(obj, first, last)`, when given, tells whether the object is free on those local dates."""

    name: str
    model: type
    build: Callable[[Any], dict | None]
    count: Callable[[], Any]
    endpoint: str
    arg: str
    lock_class: int
    order: int = 50
    available: Callable[[Any, date, date], bool] | None = None
    # Whether an object is still searchable, cheaply (a page of hits asks it for each, after loading them
    # with `load_options()`); without it, `build(obj) is not None` answers.
    searchable: Callable[[Any], bool] | None = None
    load_options: Callable[[], tuple] = lambda: ()


_TYPES: dict[str, DocumentType] = {}
_SOURCES: dict[type, Source] = {}
_EXPANDERS: dict[str, list[Callable[[int], set[Key]]]] = {}


def register_document_type(document_type: DocumentType) -> DocumentType:
    _TYPES[document_type.name] = document_type
    return document_type


def register_source(source: Source) -> Source:
    _SOURCES[source.model] = source
    return source


def register_expander(kind: str, expander: Callable[[int], set[Key]]) -> Callable[[int], set[Key]]:
    """`expander(object_id)` returns the document keys an outbox row of `kind` touches."""
    expanders = _EXPANDERS.setdefault(kind, [])
    if expander not in expanders:
        expanders.append(expander)
    return expander


def expander(kind: str) -> Callable[[Callable[[int], set[Key]]], Callable[[int], set[Key]]]:
    """Decorator form of `register_expander`."""
    def decorate(function: Callable[[int], set[Key]]) -> Callable[[int], set[Key]]:
        return register_expander(kind, function)
    return decorate


def document_types() -> list[DocumentType]:
    return sorted(_TYPES.values(), key=lambda t: t.order)


def doc_types() -> tuple[str, ...]:
    return tuple(t.name for t in document_types())


def document_type(name: str) -> DocumentType:
    return _TYPES[name]


def source_for(model: type) -> Source | None:
    return _SOURCES.get(model)


def expanders_for(kind: str) -> list[Callable[[int], set[Key]]]:
    return list(_EXPANDERS.get(kind, ()))
