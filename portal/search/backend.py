"""The search backend in use (Elasticsearch or the built-in database search), one per app and database."""

from __future__ import annotations

from flask import current_app

from portal.extensions import db
from portal.search.interfaces import SearchBackend
from portal.search.settings import parse_settings

EXTENSION = "portal.search.backend"


def get_backend() -> SearchBackend:
    """Elasticsearch when ELASTICSEARCH_URL is set, the built-in database search otherwise."""
    backends = current_app.extensions.setdefault(EXTENSION, {})
    settings = parse_settings(current_app.config) if current_app.config.get("ELASTICSEARCH_URL") else None
    dialect = db.session.get_bind().dialect.name
    key = (settings, current_app.config.get("SEARCH_INDEX", "portal-search"), dialect)
    backend = backends.get(key)
    if backend is None:
        if settings is not None:
            from portal.search.elastic import ElasticsearchBackend

            backend = ElasticsearchBackend(settings, alias=key[1],
                                           analyzer=current_app.config.get("SEARCH_ANALYZER", "cjk"))
        else:
            from portal.search.builtin import BuiltinBackend

            backend = BuiltinBackend(dialect)
        backends[key] = backend
    return backend
