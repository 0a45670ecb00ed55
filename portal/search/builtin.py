"""The built-in backend: the `search_document` table in the portal's own database.

Matching is substring matching of every query term over the normalised text (AND): on SQLite an
FTS5 trigram index answers terms of three or more characters and LIKE answers one- and
two-character terms (short Chinese words such as 融资); on PostgreSQL a pg_trgm GIN index answers
LIKE for every term. When nothing matches, terms of four or more letters are expanded to similar
words of the `search_term` vocabulary (pg_trgm `%` on PostgreSQL, LIKE over the vocabulary on
SQLite, both scored by text.similarity) and searched again (typo tolerance).

Ranking adds field weights (an exact title first, then title prefixes, title, keyword and body
hits) and, on PostgreSQL, full-text `ts_rank` when at most TS_RANK_LIMIT documents match (it
recomputes every match's tsvector: four times slower on broad queries at 100,000 documents).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable

from sqlalchemy import (
    and_,
    case,
    column,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy import update as sql_update

from portal.db import utcnow
from portal.extensions import db
from portal.search.interfaces import (
    FACETS,
    PRICE_BUCKETS,
    Hit,
    Result,
    SearchQuery,
    bucket_label,
    exact_title,
)
from portal.search.models import SearchDocument as D
from portal.search.models import SearchTerm as T
from portal.search.text import (
    FUZZY_MIN_LENGTH,
    SHORT_TERM,
    SIMILARITY_THRESHOLD,
    has_cjk,
    normalise,
    query_terms,
    short_term_pattern,
    similarity,
    vocabulary,
    with_grams,
)

FTS = table("search_document_fts", column("rowid"), column("search_text"))
# A search ranks, counts and facets at most this many matches (and the deepest page asked for): broad
# queries cost what a selective one does; beyond it the total reads "at least 1,000" (bench/search_bench.py).
CANDIDATES = 1000
TITLE_CANDIDATES = 50  # titles equal to or starting with the query, always ranked
FACET_CACHE_SECONDS = 60
FUZZY_CANDIDATES = 2000
BATCH = 500
# Full-text ts_rank recomputes each match's tsvector: worth it for selective queries only (bench/search_bench.py).
TS_RANK_LIMIT = 5000


class _TTLCache:
    """A small per-process cache of facet counts (a facet under its own filter costs one more query).
    Writing to the index through this process clears it; another host's writes show within `seconds`."""

    def __init__(self, seconds: float, size: int = 512):
        self.seconds, self.size = seconds, size
        self.items: dict = {}

    def clear(self) -> None:
        self.items = {}

    def get(self, key):
        found = self.items.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key, value):
        if len(self.items) >= self.size:
            self.items.clear()
        self.items[key] = (time.monotonic() + self.seconds, value)
        return value


_facet_cache = _TTLCache(FACET_CACHE_SECONDS)


def _delimit(values: Iterable[str]) -> str:
    values = [v.replace("|", "/") for v in values if v]
    return "|" + "|".join(values) + "|" if values else ""


def _undelimit(value: str | None) -> list[str]:
    return [v for v in (value or "").split("|") if v]


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column_, value: str):
    return column_.like(f"%{_like_escape(value)}%", escape="\\")


def row_for(document: dict) -> dict:
    """The `search_document` row for a document dict from documents.py."""
    keywords_norm = normalise(document["keywords"])
    return {
        "doc_type": document["type"], "object_id": document["id"], "title": document["title"][:300],
        "title_norm": exact_title(document["title"])[:300], "keywords_text": document["keywords"],
        "keywords_norm": keywords_norm, "body_text": document["body"],
        "search_text": with_grams("\n".join((normalise(document["title"]), keywords_norm,
                                             normalise(document["body"]), normalise(document["city"])))),
        "city": (document["city"] or "")[:80], "industries": _delimit(document["industries"])[:500],
        "languages": _delimit(document["languages"])[:200], "kind": (document["kind"] or "")[:40],
        "price_min": document["price_min"], "price_max": document["price_max"],
        "currency": document["currency"] or "", "rating": document["rating"],
        "created_at": document["created_at"] or utcnow(), "indexed_at": utcnow(),
    }


class BuiltinBackend:
    name = "builtin"

    def __init__(self, dialect: str):
        self.dialect = dialect

    # ---- writing -----------------------------------------------------------------------------

    def _existing(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        found: dict[tuple[str, int], int] = {}
        by_type: dict[str, list[int]] = {}
        for doc_type, object_id in keys:
            by_type.setdefault(doc_type, []).append(object_id)
        for doc_type, ids in by_type.items():
            for start in range(0, len(ids), BATCH):
                rows = db.session.execute(select(D.id, D.object_id).where(
                    D.doc_type == doc_type, D.object_id.in_(ids[start:start + BATCH])))
                found.update({(doc_type, object_id): row_id for row_id, object_id in rows})
        return found

    def apply(self, upserts: list[dict], deletes: list[tuple[str, int]], version: int = 0) -> None:
        """Rows are written in the job's transaction, under its per-document locks (tasks.py): the
        version needs no storing here."""
        _facet_cache.clear()
        existing = self._existing([(d["type"], d["id"]) for d in upserts] + list(deletes))
        doomed = [existing[k] for k in deletes if k in existing]
        if doomed:
            db.session.execute(delete(D).where(D.id.in_(doomed)))
        inserts, updates = [], []
        for document in upserts:
            row = row_for(document)
            row_id = existing.get((document["type"], document["id"]))
            if row_id is None:
                inserts.append(row)
            else:
                updates.append({"id": row_id, **row})
        if updates:
            db.session.execute(sql_update(D), updates)
        if inserts:
            db.session.execute(insert(D), inserts)
        self._learn([row["search_text"] for row in (*inserts, *updates)])

    def _learn(self, texts: list[str]) -> None:
        """Add the texts' words to the vocabulary (typo tolerance), ignoring those it has."""
        words = set()
        for text in texts:
            words |= vocabulary(text)
        if not words:
            return
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        ordered = sorted(words)
        for start in range(0, len(ordered), BATCH):
            db.session.execute(dialect_insert(T).on_conflict_do_nothing(),
                               [{"word": w} for w in ordered[start:start + BATCH]])

    def reindex(self, documents: Iterable[dict], total: int, progress: Callable[[int], None],
                version: int = 0) -> int:
        """Rebuild in the caller's transaction: readers keep the old rows until it commits."""
        _facet_cache.clear()
        db.session.execute(delete(D))
        db.session.execute(delete(T))
        count, batch = 0, []
        for document in documents:
            batch.append(row_for(document))
            if len(batch) >= BATCH:
                db.session.execute(insert(D), batch)
                self._learn([row["search_text"] for row in batch])
                count += len(batch)
                progress(len(batch))
                batch = []
        if batch:
            db.session.execute(insert(D), batch)
            self._learn([row["search_text"] for row in batch])
            count += len(batch)
            progress(len(batch))
        return count

    def counts(self) -> dict[str, int]:
        return dict(db.session.execute(select(D.doc_type, func.count(D.id)).group_by(D.doc_type)).all())

    # ---- matching ----------------------------------------------------------------------------

    def _position(self, column_, value: str):
        return func.instr(column_, value) if self.dialect == "sqlite" else func.strpos(column_, value)

    def _exact(self, terms: list[str]):
        """Documents containing every term: three or more characters as a substring, one or two
        characters (短词, "3d") through the gram list at the end of the search text (text.GRAM_MARK), so
        every term is answered by the trigram index and none scans the table."""
        needles = [t if len(t) > SHORT_TERM else short_term_pattern(t) for t in terms]
        if self.dialect == "sqlite":
            expression = " AND ".join('"' + t.replace('"', '""') + '"' for t in needles)
            return D.id.in_(select(FTS.c.rowid).where(
                literal_column("search_document_fts").op("MATCH")(literal(expression))))
        return and_(*[_contains(D.search_text, t) for t in needles])

    def similar_terms(self, term: str) -> list[str]:
        """Vocabulary words a misspelt `term` probably meant, most similar first (at most 30).

        Candidates come from the trigram index on PostgreSQL (pg_trgm `%`); on SQLite from LIKE
        over the (small) vocabulary: words sharing an inner trigram, plus one-letter substitutions
        and insertions for words too short to keep one. Both are then scored by text.similarity.
        """
        if self.dialect == "postgresql":
            candidates = db.session.scalars(select(T.word).where(T.word.op("%")(term)).limit(FUZZY_CANDIDATES))
        else:
            escaped = _like_escape(term)
            patterns = {f"%{_like_escape(term[i:i + 3])}%" for i in range(len(term) - 2)}
            patterns |= {escaped[:i] + "_" + escaped[i + 1:] for i in range(len(escaped))}
            patterns |= {escaped[:i] + "_" + escaped[i:] for i in range(len(escaped) + 1)}
            candidates = db.session.scalars(select(T.word).where(
                func.length(T.word).between(len(term) - 2, len(term) + 2),
                or_(*(T.word.like(p, escape="\\") for p in sorted(patterns)))).limit(FUZZY_CANDIDATES))
        scored = sorted(((similarity(term, word), word) for word in candidates), reverse=True)
        return [word for score, word in scored if score >= SIMILARITY_THRESHOLD][:30]

    def _fuzzy_term(self, term: str) -> tuple[object, list[str]]:
        words = [w for w in self.similar_terms(term) if w != term]
        if not words:
            return self._exact([term]), []
        return self._any([term, *words]), words

    def _any(self, words: list[str]):
        """Documents containing any of `words` (each of three or more characters)."""
        if self.dialect == "sqlite":
            expression = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
            return D.id.in_(select(FTS.c.rowid).where(
                literal_column("search_document_fts").op("MATCH")(literal(expression))))
        return or_(*(_contains(D.search_text, w) for w in words))

    def _fuzzy(self, terms: list[str]) -> tuple[object, list[str]]:
        criteria, expansions = [], []
        for term in terms:
            if len(term) >= FUZZY_MIN_LENGTH and not has_cjk(term):
                criterion, words = self._fuzzy_term(term)
                criteria.append(criterion)
                expansions += words
            else:
                criteria.append(self._exact([term]))
        return and_(*criteria), expansions

    def _score(self, query: SearchQuery, total: int):
        normalised = query.normalised
        score = (case((D.title_norm == normalised, 1000), else_=0)
                 + case((D.title_norm.startswith(normalised, autoescape=True), 200), else_=0))
        for term in query.terms:
            score = (score + case((self._position(D.title_norm, term) > 0, 30), else_=0)
                     + case((self._position(D.keywords_norm, term) > 0, 10), else_=0)
                     + case((self._position(D.search_text, term) > 0, 1), else_=0))
        if self.dialect == "postgresql" and total <= TS_RANK_LIMIT:
            score = score + func.ts_rank(func.to_tsvector(literal_column("'simple'"), D.search_text),
                                         func.plainto_tsquery(literal_column("'simple'"), normalised)) * 10
        return score

    # ---- filters and facets ------------------------------------------------------------------

    @staticmethod
    def _filters(query: SearchQuery) -> dict[str, object]:
        filters: dict[str, object] = {}
        if query.types:
            filters["type"] = D.doc_type.in_(query.types)
        if query.city:
            filters["city"] = D.city == query.city
        if query.industry:
            filters["industry"] = _contains(D.industries, f"|{query.industry}|")
        if query.language:
            filters["language"] = _contains(D.languages, f"|{query.language}|")
        if query.kind:
            filters["kind"] = D.kind == query.kind
        price = []
        if query.price_min is not None:
            price.append(D.price_min >= query.price_min)
        if query.price_max is not None:
            price.append(D.price_min <= query.price_max)
        if price:
            filters["price"] = and_(*price)
        if query.rating_min is not None:
            filters["rating"] = D.rating >= query.rating_min
        return filters

    @staticmethod
    def _cube(criteria: list) -> list[tuple[str, str, str, str, int, int]]:
        """One scan of the matching documents, grouped by every facet at once: (type, city,
        industries, languages, price bucket, count). Totals and facets are sums over these groups."""
        bucket = case(*[(and_(*([D.price_min >= low] if low is not None else []),
                               *([D.price_min < high] if high is not None else [])), index)
                        for index, (low, high) in enumerate(PRICE_BUCKETS)], else_=-1)
        bucket = case((D.price_min.is_(None), -1), else_=bucket)
        return db.session.execute(
            select(D.doc_type, D.city, D.industries, D.languages, bucket, func.count(D.id)).where(*criteria)
            .group_by(D.doc_type, D.city, D.industries, D.languages, bucket)).all()

    @staticmethod
    def _facet_counts(groups, name: str) -> dict[str, int]:
        counter: Counter[str] = Counter()
        for doc_type, city, industries, languages, bucket, n in groups:
            if name == "type":
                counter[doc_type] += n
            elif name == "city" and city:
                counter[city] += n
            elif name == "industry":
                for item in _undelimit(industries):
                    counter[item] += n
            elif name == "language":
                for item in _undelimit(languages):
                    counter[item] += n
            elif name == "price" and bucket is not None and bucket >= 0:
                low, high = PRICE_BUCKETS[bucket]
                counter[bucket_label(low, high)] += n
        return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))

    def _facets(self, query: SearchQuery, filters: dict[str, object], match, groups) -> dict[str, dict[str, int]]:
        """Each facet counts the results without its own filter (so other values stay offered); facets
        whose filter is not in use reuse the result set's groups. Every count is over a bounded candidate
        set, and a facet computed for a filter in use is kept for FACET_CACHE_SECONDS per normalised query."""
        facets = {}
        for name in FACETS:
            if name in filters:
                key = (self.dialect, name, query.normalised, tuple(query.terms), query.types, query.city,
                       query.industry, query.language, query.kind, query.price_min, query.price_max,
                       query.rating_min)
                cached = _facet_cache.get(key)
                if cached is None:
                    others = [c for other, c in filters.items() if other != name]
                    ids, _capped = self._candidates(others, match, CANDIDATES)
                    cached = _facet_cache.put(key, self._facet_counts(self._cube([D.id.in_(ids)]) if ids else [],
                                                                      name))
                facets[name] = cached
            else:
                facets[name] = self._facet_counts(groups, name)
        return facets

    # ---- queries -----------------------------------------------------------------------------

    @staticmethod
    def _candidates(criteria: list, match, limit: int, order=None) -> tuple[list[int], bool]:
        """The ids of at most `limit` matching documents (newest indexed first, or in `order`), and
        whether more match. Every later statement of a search works on these ids only, so its cost is
        bounded by `limit`, not by how many documents match a broad query."""
        where = [*criteria, *([match] if match is not None else [])]
        ids = list(db.session.scalars(select(D.id).where(*where).order_by(*(order or []), D.id.desc())
                                      .limit(limit + 1)))
        return ids[:limit], len(ids) > limit

    def search(self, query: SearchQuery) -> Result:
        """Match, then rank a bounded candidate set: the newest CANDIDATES matches plus any whose title
        is the query or starts with it; with more matches the total is "at least CANDIDATES"
        (`approximate`). Sorting by price or rating takes the candidates in that order instead."""
        terms = query.terms
        filters = self._filters(query)
        criteria = list(filters.values())
        match = self._exact(terms) if terms else None
        expansions: list[str] = []
        limit = max(CANDIDATES, query.offset + query.per_page)
        sort = query.sort if terms or query.sort != "relevance" else "newest"
        first = {"rating": [D.rating.desc().nulls_last()], "price": [D.price_min.asc().nulls_last()],
                 "newest": [D.created_at.desc()]}.get(sort)
        ids, capped = self._candidates(criteria, match, limit, first)
        if not ids and any(len(t) >= FUZZY_MIN_LENGTH for t in terms):
            match, expansions = self._fuzzy(terms)
            ids, capped = self._candidates(criteria, match, limit, first)
        if capped and terms and sort == "relevance":  # the best title matches are never left out
            normalised = query.normalised
            titled = db.session.scalars(select(D.id).where(
                *criteria, match, D.title_norm >= normalised, D.title_norm < normalised + "\U0010ffff")
                .limit(TITLE_CANDIDATES))
            ids = list(dict.fromkeys([*titled, *ids]))
        total = len(ids)
        if not ids:
            return Result(0, [], self._facets(query, filters, match, []), approximate=False)
        groups = self._cube([D.id.in_(ids)])
        score = self._score(query, total) if terms else literal(0)
        order = {
            "rating": [D.rating.desc().nulls_last(), score.desc()],
            "price": [D.price_min.asc().nulls_last(), score.desc()],
            "newest": [D.created_at.desc()],
        }.get(sort, [score.desc()])
        rows = db.session.execute(
            select(D.doc_type, D.object_id, D.title, D.keywords_text, D.body_text, D.city, D.price_min, D.currency,
                   D.rating, D.search_text)
            .where(D.id.in_(ids)).order_by(*order, D.created_at.desc(), D.id.desc())
            .limit(query.per_page).offset(query.offset)).all()
        hits = []
        for row in rows:
            words = list(terms) + [w for w in expansions if w in row.search_text]
            hits.append(Hit(row.doc_type, row.object_id, row.title, row.keywords_text, row.body_text, words,
                            row.city, row.price_min, row.currency, row.rating))
        return Result(total, hits, self._facets(query, filters, match, groups), approximate=capped)

    def suggest(self, prefix: str, limit: int) -> list[str]:
        wanted = " ".join(query_terms(prefix))
        if not wanted:
            return []
        titles: list[str] = []
        # A range, not LIKE 'x%': SQLite's LIKE ignores case and so cannot use the index.
        prefix = and_(D.title_norm >= wanted, D.title_norm < wanted + "\U0010ffff")
        for criterion in (prefix, _contains(D.title_norm, wanted)):
            rows = db.session.scalars(select(D.title).where(criterion).order_by(func.length(D.title), D.title)
                                      .limit(limit * 2))
            for title in rows:
                if title not in titles:
                    titles.append(title)
            if len(titles) >= limit:
                break
        return titles[:limit]
