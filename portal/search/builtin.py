"""The built-in backend: the `search_document` table in the portal's own database.

Matching is substring matching of every query term over the normalised text (AND): on SQLite an
FTS5 trigram index answers every term, on PostgreSQL a pg_trgm GIN index answers LIKE (or the
planner walks the newest rows and filters, for broad terms); one- and two-character terms (融资)
are looked up in a gram list at the end of the text (text.GRAM_MARK). When nothing matches, terms of
four or more letters are expanded to similar words of the `search_term` vocabulary (pg_trgm `%` on
PostgreSQL, LIKE over the vocabulary on SQLite, both scored by text.similarity) and searched again
(typo tolerance).

A search reads at most CANDIDATES + 1 matching rows, newest first, with their facet columns and
score (the database stops there), so its cost does not grow with the number of matches. Ranking adds
field weights (an exact title first, then title prefixes, title, keyword and text hits) and how often
the terms occur; it, the facet counts and paging are done over those rows in Python.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    column,
    delete,
    exists,
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
    vocabulary_shaped,
    with_grams,
)

FTS = table("search_document_fts", column("rowid"), column("search_text"))
# A search ranks, counts and facets at most this many matches (and the deepest page asked for): broad
# queries cost what a selective one does; beyond it the total reads "at least 300". 1,000 cost PostgreSQL
# 30-60 ms for sparse conjunctions at 100,000 documents, 300 a third of it (bench/search_bench.py).
CANDIDATES = 300
TITLE_CANDIDATES = 50  # titles equal to or starting with the query, always ranked
TITLE_SCAN = 200  # of the first this many such titles (in title order: the exact title comes first)
# Sorting matches by rating, price or date orders at most this many of the newest matches (with more, the
# order is over them only and the result is approximate): a bounded sort instead of sorting every match.
SORT_POOL = 2000
TERM_FREQUENCY_CAP = 9  # occurrences of a term beyond this add nothing to the score
FACET_CACHE_SECONDS = 60
FUZZY_CANDIDATES = 2000
BATCH = 500
# Terms found inside a vocabulary word, per process (the vocabulary only grows; after a reindex a stale entry
# costs one exact scan, nothing else): most searches then need no vocabulary statement.
_KNOWN: set[str] = set()
KNOWN_CACHE_SIZE = 10_000
_SCORES: dict = {}  # (dialect, number of terms) -> score expression (BuiltinBackend._score)
_FACET_COLUMNS = (D.id, D.doc_type, D.city, D.industries, D.languages, D.price_min)


@dataclass(frozen=True)
class Match:
    """What a query matches: every group must occur in a document's search text as one of its needles
    (substrings of three or more characters; a short term is its gram pattern, text.short_term_pattern).
    One needle per group for an exact query; a misspelt term's group adds its similar words."""

    groups: tuple[tuple[str, ...], ...]

    def fts_expression(self) -> str:
        """SQLite: one FTS5 MATCH expression (phrases quoted: no query syntax reaches FTS5)."""
        parts = []
        for group in self.groups:
            quoted = ['"' + needle.replace('"', '""') + '"' for needle in group]
            parts.append(quoted[0] if len(quoted) == 1 else "(" + " OR ".join(quoted) + ")")
        return " AND ".join(parts)

    def clause(self):
        """PostgreSQL: LIKE '%needle%' (answered by the pg_trgm GIN index or checked row by row)."""
        return and_(*[or_(*[_contains(D.search_text, needle) for needle in group]) for group in self.groups])

    def accepts(self, search_text: str) -> bool:
        """The same test in Python, for rows read by another index (the title prefix rows)."""
        return all(any(needle in search_text for needle in group) for group in self.groups)


def _rows(statement, params: dict | None = None) -> list:
    """Core execution in the session's transaction (the ORM's per-statement bookkeeping is not needed)."""
    return db.session.connection().execute(statement, params or {}).all()


def _needle(term: str) -> str:
    return term if len(term) > SHORT_TERM else short_term_pattern(term)


def _bucket(price: int | None) -> int:
    if price is None:
        return -1
    for index, (low, high) in enumerate(PRICE_BUCKETS):
        if (low is None or price >= low) and (high is None or price < high):
            return index
    return -1


def _ordered(rows: list, sort: str) -> list:
    """Candidate rows in the result order: by relevance (score), rating or price (then score), or date;
    ties newest first."""
    if sort == "newest":
        return sorted(rows, key=lambda row: (row.created_at, row.id), reverse=True)
    if sort == "rating":  # rated first, best first
        return sorted(rows, key=lambda row: (row.rating is not None, row.rating or 0, row.score, row.created_at,
                                             row.id), reverse=True)
    rows = sorted(rows, key=lambda row: (row.score, row.created_at, row.id), reverse=True)
    if sort == "price":  # cheapest first, unpriced last (a stable sort keeps the score order within a price)
        rows.sort(key=lambda row: (row.price_min is None, row.price_min or 0))
    return rows


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

    def _exact(self, terms: list[str]) -> Match:
        """Documents containing every term: three or more characters as a substring, one or two
        characters (短词, "3d") through the gram list at the end of the search text (text.GRAM_MARK), so
        every term is answered by the trigram index and none scans the table."""
        return Match(tuple((_needle(t),) for t in terms))

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

    def _fuzzy(self, terms: list[str]) -> tuple[Match, list[str]]:
        """Every term of four or more letters may also be any of its similar vocabulary words."""
        groups, expansions = [], []
        for term in terms:
            words: list[str] = []
            if len(term) >= FUZZY_MIN_LENGTH and not has_cjk(term):
                words = [w for w in self.similar_terms(term) if w != term]
            groups.append((_needle(term), *words))
            expansions += words
        return Match(tuple(groups)), expansions

    def _score(self, count: int):
        """Field weights (exact title 1000, title prefix 200, per term: title 30, keywords 10, text 1)
        and, to order documents whose fields tie, how often each term occurs (0.1 per occurrence, at
        most TERM_FREQUENCY_CAP). Computed for the candidate rows only. Built once per number of terms,
        with bound parameters (`_score_params`): building it per search cost 1-3 ms."""
        key = (self.dialect, count)
        if key not in _SCORES:
            least = func.min if self.dialect == "sqlite" else func.least
            size = func.length if self.dialect == "sqlite" else func.octet_length  # PostgreSQL: bytes, no char count
            score = (case((D.title_norm == bindparam("score_query", type_=String), 1000), else_=0)
                     + case((D.title_norm.like(bindparam("score_prefix", type_=String), escape="\\"), 200), else_=0))
            for i in range(count):
                term, length = bindparam(f"score_t{i}", type_=String), bindparam(f"score_n{i}", type_=Integer)
                occurrences = (size(D.search_text) - size(func.replace(D.search_text, term, ""))) // length
                score = (score + case((self._position(D.title_norm, term) > 0, 30), else_=0)
                         + case((self._position(D.keywords_norm, term) > 0, 10), else_=0)
                         + case((self._position(D.search_text, term) > 0, 1), else_=0)
                         + least(occurrences, TERM_FREQUENCY_CAP) * literal(0.1))
            _SCORES[key] = score.label("score")
        return _SCORES[key]

    def _score_params(self, terms: list[str]) -> dict:
        normalised = " ".join(terms)
        params: dict = {"score_query": normalised, "score_prefix": _like_escape(normalised) + "%"}
        for i, term in enumerate(terms):
            params[f"score_t{i}"] = term
            params[f"score_n{i}"] = len(term.encode()) if self.dialect == "postgresql" else len(term)
        return params

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
    def _groups(rows) -> list[tuple[str, str, str, str, int, int]]:
        """The candidate rows grouped by every facet at once: (type, city, industries, languages, price
        bucket, count). Totals and facets are sums over these groups (counted here, not in SQL: the rows
        are already fetched and at most CANDIDATES)."""
        # by position: every candidate statement starts with _FACET_COLUMNS (id, type, city, industries,
        # languages, price)
        counter = Counter((row[1], row[2], row[3], row[4], _bucket(row[5])) for row in rows)
        return [(*key, n) for key, n in counter.items()]

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
                    rows = self._matching(_FACET_COLUMNS, others, match, CANDIDATES)[:CANDIDATES]
                    cached = _facet_cache.put(key, self._facet_counts(self._groups(rows), name))
                facets[name] = cached
            else:
                facets[name] = self._facet_counts(groups, name)
        return facets

    # ---- queries -----------------------------------------------------------------------------

    def _statement(self, columns, criteria: list, match: Match | None, limit: int, order=None):
        """At most `limit` rows of matching documents, newest indexed first (without a match: in `order`).
        The database stops after them: on SQLite the FTS5 table yields its matches in rowid order and stops
        at the LIMIT (its doclists are read incrementally); on PostgreSQL the planner walks the primary key
        backwards and filters, or reads the trigram index for rarer terms. Expressions in `columns` (the
        score) are computed for these rows only."""
        if match is None:
            statement = select(*columns).where(*criteria).order_by(*(order or []), D.id.desc())
        elif self.dialect == "sqlite":
            statement = (select(*columns).select_from(FTS.join(D, D.id == FTS.c.rowid))
                         .where(literal_column("search_document_fts").op("MATCH")(literal(match.fts_expression())),
                                *criteria)
                         .order_by(FTS.c.rowid.desc()))
        else:
            statement = select(*columns).where(*criteria, match.clause()).order_by(D.id.desc())
        return statement.limit(limit)

    def _matching(self, columns, criteria: list, match: Match | None, limit: int, order=None,
                  params: dict | None = None) -> list:
        """The first `limit` + 1 rows of `_statement` (one more tells whether there are more)."""
        return _rows(self._statement(columns, criteria, match, limit + 1, order), params)

    def _pooled(self, criteria: list, match: Match, pool: int, limit: int, sort: str) -> tuple[list[int], bool]:
        """The ids of the first `limit` of the newest `pool` matches in the sort's order (ties newest
        first), and whether the pool held more than `limit`: sorted in the database, one statement."""
        pooled = self._statement([D.id, D.price_min, D.rating, D.created_at], criteria, match, pool).subquery()
        key = {"rating": [pooled.c.rating.desc().nulls_last()], "price": [pooled.c.price_min.asc().nulls_last()],
               "newest": []}[sort]
        rows = _rows(select(pooled.c.id, func.count().over()).order_by(
            *key, pooled.c.created_at.desc(), pooled.c.id.desc()).limit(limit))
        return [row[0] for row in rows], bool(rows) and rows[0][1] > limit

    def _unknown(self, terms: list[str]) -> bool:
        """Whether a term is a word no document has, so that the exact match would find nothing, and slowly:
        PostgreSQL rechecks every row that shares its trigrams (or walks the whole table), FTS5 reads the
        trigrams' whole doclists (10-20 ms for "vibraton" at 100,000 documents). A term of four or more
        letters lies inside one of the texts' letter runs, and those are the vocabulary (search_term: small,
        and with its own trigram index on PostgreSQL). Typo tolerance then starts at once: it keeps the term
        itself as one of the alternatives, so nothing the exact match would find is lost. One statement for
        all terms, none for terms already seen in the vocabulary (_KNOWN)."""
        words = [t for t in terms if len(t) >= FUZZY_MIN_LENGTH and vocabulary_shaped(t) and t not in _KNOWN]
        if not words:
            return False
        known = _rows(select(*[exists(select(T.word).where(_contains(T.word, w))) for w in words]))[0]
        if len(_KNOWN) > KNOWN_CACHE_SIZE:
            _KNOWN.clear()
        _KNOWN.update(word for word, found in zip(words, known, strict=True) if found)
        return not all(known)

    def search(self, query: SearchQuery) -> Result:
        """Match, then rank a bounded candidate set: the newest CANDIDATES matches (with their score and
        facet columns, one statement) plus any whose title is the query or starts with it; with more
        matches the total is "at least CANDIDATES" (`approximate`). Sorting by rating, price or date
        orders the newest SORT_POOL matches (then scores the CANDIDATES it keeps). Ranking, grouping and
        paging happen over these rows in Python; one more statement reads the page's texts."""
        terms = query.terms
        filters = self._filters(query)
        criteria = list(filters.values())
        limit = max(CANDIDATES, query.offset + query.per_page)
        sort = query.sort if terms or query.sort != "relevance" else "newest"
        columns = [*_FACET_COLUMNS, D.rating, D.created_at]
        unscored = [*columns, literal(0).label("score")]
        match: Match | None = None
        expansions: list[str] = []
        if not terms:
            if sort == "newest":
                rows = self._matching(unscored, criteria, None, limit, [D.created_at.desc()])
            else:  # along the (price_min, id) or (rating, id) index, then the documents without one
                key = D.price_min if sort == "price" else D.rating
                rows = self._matching(unscored, [*criteria, key.is_not(None)], None, limit,
                                      [key.asc() if sort == "price" else key.desc()])
                if len(rows) <= limit:
                    rows += self._matching(unscored, [*criteria, key.is_(None)], None, limit - len(rows))
            capped = len(rows) > limit
            rows = _ordered(rows[:limit], sort)
        else:
            scored = [*columns, self._score(len(terms))]
            params = self._score_params(terms)
            relevance = sort == "relevance"
            pool = limit if relevance else max(limit, SORT_POOL)
            match = self._exact(terms)
            if self._unknown(terms):
                match, expansions = self._fuzzy(terms)

            def find() -> tuple[list, bool]:
                if relevance:  # the newest `limit` matches, by score
                    found = self._matching(scored, criteria, match, limit, params=params)
                    return _ordered(found[:limit], sort), len(found) > limit
                # the pool in the sort's order (ties newest first), cut, then scored
                kept, more = self._pooled(criteria, match, pool, limit, sort)
                return (_ordered(_rows(select(*scored).where(D.id.in_(kept)), params), sort) if kept else []), more

            rows, capped = find()
            if not rows and not expansions and any(len(t) >= FUZZY_MIN_LENGTH for t in terms):
                match, expansions = self._fuzzy(terms)
                rows, capped = find()
        if capped and terms and sort == "relevance":  # the best title matches are never left out
            normalised = query.normalised
            seen = {row.id for row in rows}
            # the title index alone first (with a filter in the same statement, SQLite's planner would
            # rather walk the filter's index); usually no title starts with the query and that is all
            prefixed = [row[0] for row in _rows(select(D.id).where(
                D.title_norm >= normalised, D.title_norm < normalised + "\U0010ffff")
                .order_by(D.title_norm).limit(TITLE_SCAN))]
            titled = _rows(select(*scored, D.search_text).where(D.id.in_(prefixed), *criteria)
                           .order_by(D.title_norm).limit(TITLE_CANDIDATES), params) if prefixed else []
            extra = [row for row in titled if row.id not in seen and match.accepts(row.search_text)]
            if extra:
                rows = _ordered([*rows, *extra], sort)
        if not rows:
            return Result(0, [], self._facets(query, filters, match, []), approximate=False)
        page = [row.id for row in rows[query.offset:query.offset + query.per_page]]
        texts = {row.id: row for row in _rows(
            select(D.id, D.doc_type, D.object_id, D.title, D.keywords_text, D.body_text, D.city, D.price_min,
                   D.currency, D.rating, D.search_text).where(D.id.in_(page)))} if page else {}
        hits = []
        for row in (texts[row_id] for row_id in page):
            words = list(terms) + [w for w in expansions if w in row.search_text]
            hits.append(Hit(row.doc_type, row.object_id, row.title, row.keywords_text, row.body_text, words,
                            row.city, row.price_min, row.currency, row.rating))
        return Result(len(rows), hits, self._facets(query, filters, match, self._groups(rows)), approximate=capped)

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
