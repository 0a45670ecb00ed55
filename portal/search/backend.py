"""The search backend in use (Elasticsearch or the built-in database search), one per app and database."""

from __future__ import annotations

from flask import current_app

from portal.extensions import db
from portal.search.interfaces import SearchBackend

EXTENSION = "portal.search.backend"


def get_backend() -> SearchBackend:
    """Elasticsearch when ELASTICSEARCH_URL is set, the built-in database search otherwise."""
    backends = current_app.extensions.setdefault(EXTENSION, {})
    url = current_app.config.get("ELASTICSEARCH_URL")
    dialect = db.session.get_bind().dialect.name
    key = (url, current_app.config.get("SEARCH_INDEX", "portal-search"), dialect)
    backend = backends.get(key)
    if backend is None:
        if url:
            from portal.search.elastic import ElasticsearchBackend

            backend = ElasticsearchBackend(
                url, alias=key[1], analyzer=current_app.config.get("SEARCH_ANALYZER", "cjk"),
                node_class=current_app.config.get("ELASTICSEARCH_NODE_CLASS"),
                timeout=float(current_app.config.get("ELASTICSEARCH_TIMEOUT", 5)))
        else:
            from portal.search.builtin import BuiltinBackend

            backend = BuiltinBackend(dialect)
        backends[key] = backend
    return backend
