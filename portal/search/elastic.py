"""The Elasticsearch backend (official `elasticsearch` client), used when ELASTICSEARCH_URL is set.

Documents live in a concrete index `<alias>-<timestamp>` behind the alias (SEARCH_INDEX,
"portal-search" by default); a reindex fills a new index and swaps the alias in one atomic call.
The analyzer of the text fields is configurable (SEARCH_ANALYZER: `cjk` by default, `smartcn` or
`ik_max_word` when the plugin is installed). Timeouts are short: a slow cluster must fail a search
fast and leave indexing to the outbox retries, not hang a request. Nodes, credentials, CA
certificate, retries and the plain-JSON switch come from the environment (portal/search/settings.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from elastic_transport import Urllib3HttpNode
from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError
from elasticsearch.helpers import BulkIndexError, streaming_bulk

from portal.search.interfaces import PRICE_BUCKETS, Hit, Result, SearchQuery, SearchUnavailable, bucket_label
from portal.search.interfaces import exact_title as _exact_title
from portal.search.settings import ElasticsearchSettings, parse_settings
from portal.search.text import query_terms

log = logging.getLogger(__name__)

_FACET_FIELDS = {"type": "type", "city": "city", "industry": "industries", "language": "languages"}


def _doc_id(doc_type: str, object_id: int) -> str:
    return f"{doc_type}-{object_id}"


def _plain(media_type: str) -> str:
    if "compatible-with" not in media_type:
        return media_type
    return "application/x-ndjson" if "x-ndjson" in media_type else "application/json"


class PlainJsonNode(Urllib3HttpNode):
    """Sends `application/json` (`application/x-ndjson` for bulk) where the client would send the
    versioned `application/vnd.elasticsearch+json; compatible-with=8`, for servers that answer that with
    406 (ELASTICSEARCH_COMPAT_HEADERS=false). The 8.x client rewrites any `Accept`/`Content-Type` passed
    through `headers=` back to the versioned type just before sending, so a node class (the client's
    documented `node_class` extension point) is the one place the plain types survive."""

    def perform_request(self, method, target, body=None, headers=None, **kwargs):
        if headers is not None:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                if headers.get(name):
                    headers[name] = _plain(headers[name])
        return super().perform_request(method, target, body=body, headers=headers, **kwargs)


def client_options(settings: ElasticsearchSettings) -> dict:
    """Keyword arguments of `Elasticsearch(hosts, **options)` for these settings."""
    options: dict = {"request_timeout": settings.timeout, "max_retries": settings.max_retries,
                     "retry_on_timeout": settings.retry_on_timeout}
    if settings.api_key:
        # `id:api_key` as Elasticsearch prints it, or the base64 "encoded" form (base64 has no colon).
        key_id, colon, key = settings.api_key.partition(":")
        options["api_key"] = (key_id, key) if colon else settings.api_key
    elif settings.basic_auth:
        options["basic_auth"] = settings.basic_auth
    if settings.ca_certs:
        options["ca_certs"] = settings.ca_certs
    if not settings.compat_headers:
        options["node_class"] = PlainJsonNode
    return options


class ElasticsearchBackend:
    name = "elasticsearch"

    def __init__(self, settings: ElasticsearchSettings | str, *, alias: str = "portal-search", analyzer: str = "cjk",
                 timeout: float = 5.0):
        if isinstance(settings, str):
            settings = parse_settings({"ELASTICSEARCH_URL": settings, "ELASTICSEARCH_TIMEOUT": timeout})
        self.settings = settings
        self.client = Elasticsearch(list(settings.hosts), **client_options(settings))
        self.alias = alias
        self.analyzer = analyzer
        self._ready = False

    # ---- index management --------------------------------------------------------------------

    def index_body(self) -> dict:
        text = {"type": "text", "analyzer": self.analyzer}
        return {
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {"properties": {
                "type": {"type": "keyword"}, "object_id": {"type": "long"},
                "title": {**text, "fields": {"std": {"type": "text", "analyzer": "standard"}}},
                "title_norm": {"type": "keyword"},
                "keywords": text, "body": text, "all_text": text,
                "city": {"type": "keyword"}, "industries": {"type": "keyword"}, "languages": {"type": "keyword"},
                "kind": {"type": "keyword"}, "price_min": {"type": "long"}, "price_max": {"type": "long"},
                "currency": {"type": "keyword"}, "rating": {"type": "float"}, "created_at": {"type": "date"},
            }},
        }

    def _call(self, function: Callable, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (TransportError, ApiError, BulkIndexError) as error:
            raise SearchUnavailable(str(error)[:300]) from error

    def create_index(self) -> str:
        name = f"{self.alias}-{time.strftime('%Y%m%d%H%M%S')}-{time.time_ns() % 1_000_000:06d}"
        self._call(self.client.indices.create, index=name, **self.index_body())
        return name

    def ensure_index(self) -> None:
        if self._ready:
            return
        if not self._call(self.client.indices.exists_alias, name=self.alias):
            # A fixed first name: two processes starting together create one index, not two.
            name = f"{self.alias}-initial"
            try:
                self.client.indices.create(index=name, **self.index_body())
            except ApiError as error:
                if error.meta.status != 400:  # 400: it exists already (the other process won)
                    raise SearchUnavailable(str(error)[:300]) from error
            except TransportError as error:
                raise SearchUnavailable(str(error)[:300]) from error
            self._call(self.client.indices.put_alias, index=name, name=self.alias)
        self._ready = True

    def current_indices(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias).body.keys())
        except NotFoundError:
            return []
        except (TransportError, ApiError) as error:
            raise SearchUnavailable(str(error)[:300]) from error

    # ---- writing -----------------------------------------------------------------------------

    @staticmethod
    def source(document: dict) -> dict:
        created = document["created_at"]
        return {
            "type": document["type"], "object_id": document["id"], "title": document["title"],
            "title_norm": _exact_title(document["title"]), "keywords": document["keywords"],
            "body": document["body"],
            "all_text": "\n".join((document["title"], document["keywords"], document["body"], document["city"])),
            "city": document["city"], "industries": document["industries"], "languages": document["languages"],
            "kind": document["kind"], "price_min": document["price_min"], "price_max": document["price_max"],
            "currency": document["currency"], "rating": document["rating"],
            "created_at": created.isoformat() if created else None,
        }

    def _bulk(self, index: str, actions: Iterable[dict], progress: Callable[[int], None] | None = None) -> int:
        done = 0
        try:
            for ok, item in streaming_bulk(self.client, actions, index=index, chunk_size=500,
                                           raise_on_error=False, raise_on_exception=True):
                operation, detail = next(iter(item.items()))
                # 404: deleting what is not there; 409: a newer version is indexed already (a
                # concurrent job built from newer rows): both leave the index as it should be.
                if not ok and not (operation == "delete" and detail.get("status") == 404) and not (
                        detail.get("status") == 409 and _is_version_conflict(detail)):
                    raise SearchUnavailable(f"{operation} {detail.get('_id')}: {detail.get('error')}")
                done += 1
                if progress is not None:
                    progress(1)
        except (TransportError, ApiError) as error:
            raise SearchUnavailable(str(error)[:300]) from error
        return done

    def apply(self, upserts: list[dict], deletes: list[tuple[str, int]], version: int = 0) -> None:
        """Write with external versions (`external_gte`: the same version may rewrite, a lower one
        is refused and counted as done); version 0 writes unversioned (callers always pass one)."""
        self.ensure_index()
        versioned = {"_version": version, "_version_type": "external_gte"} if version > 0 else {}
        actions = [{"_op_type": "index", "_id": _doc_id(d["type"], d["id"]), "_source": self.source(d), **versioned}
                   for d in upserts]
        actions += [{"_op_type": "delete", "_id": _doc_id(t, i), **versioned} for t, i in deletes]
        if actions:
            self._bulk(self.alias, actions)
            self._call(self.client.indices.refresh, index=self.alias)

    def reindex(self, documents: Iterable[dict], total: int, progress: Callable[[int], None],
                version: int = 0) -> int:
        """Fill a new index, then point the alias at it and drop the old ones in one atomic call.
        Documents carry `version` (read before building them), so later outbox writes supersede them."""
        old = self.current_indices()
        new = self.create_index()
        versioned = {"_version": version, "_version_type": "external_gte"} if version > 0 else {}
        try:
            count = self._bulk(new, ({"_op_type": "index", "_id": _doc_id(d["type"], d["id"]),
                                      "_source": self.source(d), **versioned} for d in documents), progress)
            self._call(self.client.indices.refresh, index=new)
        except Exception:
            self.client.indices.delete(index=new, ignore_unavailable=True)
            raise
        if not old and self._call(self.client.indices.exists, index=self.alias):
            raise SearchUnavailable(f"{self.alias} is an index, not an alias: delete it first")
        actions = [{"remove": {"index": name, "alias": self.alias}} for name in old]
        actions.append({"add": {"index": new, "alias": self.alias}})
        self._call(self.client.indices.update_aliases, actions=actions)
        for name in old:
            self._call(self.client.indices.delete, index=name, ignore_unavailable=True)
        self._ready = True
        return count

    def counts(self) -> dict[str, int]:
        self.ensure_index()
        response = self._call(self.client.search, index=self.alias, size=0,
                              aggs={"type": {"terms": {"field": "type", "size": 20}}})
        return {b["key"]: b["doc_count"] for b in response["aggregations"]["type"]["buckets"]}

    # ---- queries -----------------------------------------------------------------------------

    @staticmethod
    def _filters(query: SearchQuery) -> dict[str, dict]:
        filters: dict[str, dict] = {}
        if query.types:
            filters["type"] = {"terms": {"type": list(query.types)}}
        if query.city:
            filters["city"] = {"term": {"city": query.city}}
        if query.industry:
            filters["industry"] = {"term": {"industries": query.industry}}
        if query.language:
            filters["language"] = {"term": {"languages": query.language}}
        if query.kind:
            filters["kind"] = {"term": {"kind": query.kind}}
        price = {}
        if query.price_min is not None:
            price["gte"] = query.price_min
        if query.price_max is not None:
            price["lte"] = query.price_max
        if price:
            filters["price"] = {"range": {"price_min": price}}
        if query.rating_min is not None:
            filters["rating"] = {"range": {"rating": {"gte": query.rating_min}}}
        return filters

    def _query(self, query: SearchQuery) -> dict:
        text = " ".join(query.terms)
        if not text:
            return {"match_all": {}}
        return {"bool": {
            "must": [{"match": {"all_text": {"query": text, "operator": "and", "fuzziness": "AUTO"}}}],
            "should": [
                {"term": {"title_norm": {"value": query.normalised, "boost": 100}}},
                {"match_phrase": {"title": {"query": text, "boost": 10}}},
                {"multi_match": {"query": text, "fields": ["title^4", "title.std^4", "keywords^2", "body"]}},
            ],
        }}

    def search(self, query: SearchQuery) -> Result:
        self.ensure_index()
        filters = self._filters(query)

        def others(excluded: str) -> list[dict]:
            return [f for name, f in filters.items() if name != excluded]

        aggs = {}
        for name, field in _FACET_FIELDS.items():
            aggs[name] = {"filter": {"bool": {"filter": others(name)}},
                          "aggs": {"values": {"terms": {"field": field, "size": 30}}}}
        ranges = [{"key": bucket_label(low, high), **({"from": low} if low is not None else {}),
                   **({"to": high} if high is not None else {})} for low, high in PRICE_BUCKETS]
        aggs["price"] = {"filter": {"bool": {"filter": others("price")}},
                         "aggs": {"values": {"range": {"field": "price_min", "ranges": ranges}}}}
        sort_key = query.sort if query.terms or query.sort != "relevance" else "newest"
        sort = {
            "rating": [{"rating": {"order": "desc", "missing": "_last"}}, "_score"],
            "price": [{"price_min": {"order": "asc", "missing": "_last"}}, "_score"],
            "newest": [{"created_at": {"order": "desc"}}],
        }.get(sort_key, ["_score", {"created_at": {"order": "desc"}}])
        response = self._call(
            self.client.search, index=self.alias, query=self._query(query),
            post_filter={"bool": {"filter": list(filters.values())}}, aggs=aggs, sort=sort,
            from_=query.offset, size=query.per_page, track_total_hits=True,
            # Only to learn which words matched (fuzzy ones included): the snippet itself is cut and
            # HTML-escaped by text.snippet, so no server-side encoder is trusted with escaping.
            highlight={"fields": {"all_text": {"number_of_fragments": 0}}, "pre_tags": ["\x02"],
                       "post_tags": ["\x03"]})
        hits = []
        for item in response["hits"]["hits"]:
            source = item["_source"]
            matched = list(query.terms)
            for fragments in (item.get("highlight") or {}).values():
                for fragment in fragments:
                    matched += _marked(fragment)
            hits.append(Hit(source["type"], int(source["object_id"]), source["title"], source.get("keywords", ""),
                            source.get("body", ""), matched, source.get("city", ""), source.get("price_min"),
                            source.get("currency", ""), source.get("rating")))
        facets: dict[str, dict[str, int]] = {}
        for name in (*_FACET_FIELDS, "price"):
            buckets = response["aggregations"][name]["values"]["buckets"]
            facets[name] = dict(sorted(((str(b["key"]), b["doc_count"]) for b in buckets if b["doc_count"]),
                                       key=lambda item: (-item[1], item[0])))
        total = response["hits"]["total"]
        return Result(total["value"] if isinstance(total, dict) else int(total), hits, facets)

    def suggest(self, prefix: str, limit: int) -> list[str]:
        self.ensure_index()
        text = " ".join(query_terms(prefix))
        if not text:
            return []
        response = self._call(
            self.client.search, index=self.alias, size=limit * 2, _source=["title"],
            query={"bool": {"should": [
                {"prefix": {"title_norm": {"value": text, "boost": 5}}},
                {"match_phrase_prefix": {"title": {"query": text}}},
                {"match_phrase_prefix": {"title.std": {"query": text}}},
            ], "minimum_should_match": 1}})
        titles: list[str] = []
        for item in response["hits"]["hits"]:
            title = item["_source"]["title"]
            if title not in titles:
                titles.append(title)
        return titles[:limit]


def _is_version_conflict(detail: dict) -> bool:
    error = detail.get("error")
    return isinstance(error, dict) and error.get("type") == "version_conflict_engine_exception"


def _marked(fragment: str) -> list[str]:
    """The words Elasticsearch marked in a highlight fragment (fuzzy matches included)."""
    words, rest = [], fragment
    while "\x02" in rest:
        _, _, rest = rest.partition("\x02")
        word, _, rest = rest.partition("\x03")
        if word:
            words.append(word)
    return words
