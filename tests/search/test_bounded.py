"""The built-in backend's cost does not grow with the number of matches (issue 13, point 3): a search ranks,
counts and facets a bounded candidate set, says "at least N" beyond it, never leaves out the exact title,
and answers one- and two-character terms (融资, 青岛, "3d") through the trigram index, not a LIKE scan.
On the session database: SQLite, or PostgreSQL with TEST_DATABASE_URL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from portal.db import utcnow
from portal.extensions import db
from portal.search import builtin
from portal.search.builtin import BuiltinBackend
from portal.search.interfaces import SearchQuery
from portal.search.text import GRAM_MARK, with_grams


def document(number: int, title: str, body: str = "", city: str = "Qingdao", created=None) -> dict:
    return {"type": "resource", "id": 900_000 + number, "title": title, "keywords": "", "body": body,
            "city": city, "industries": [], "languages": [], "kind": "lab", "price_min": 100_00 + number,
            "price_max": None, "currency": "CNY", "rating": None,
            "created_at": created or utcnow() - timedelta(days=number)}


@pytest.fixture
def engine_backend(app, db_session):
    return BuiltinBackend(db.session.get_bind().dialect.name)


@pytest.fixture
def statements():
    seen: list[str] = []

    def listen(_conn, _cursor, statement, _params, _context, _many):
        seen.append(statement)

    engine = db.session.get_bind().engine if hasattr(db.session.get_bind(), "engine") else db.session.get_bind()
    event.listen(engine, "before_cursor_execute", listen)
    yield seen
    event.remove(engine, "before_cursor_execute", listen)


def test_short_chinese_terms_and_short_words_use_the_gram_list(engine_backend, statements):
    engine_backend.apply([document(1, "供应链融资 workshop", "青岛 3D printing for makers"),
                          document(2, "Laser cutter", "深圳 chair design")], [])
    statements.clear()
    for term, expected in (("融资", [900_001]), ("青岛", [900_001]), ("3d", [900_001]), ("岛", [900_001]),
                           ("ai", [])):  # a short Latin term is a word: "ai" is not found inside "chair"
        found = engine_backend.search(SearchQuery(text=term))
        assert [hit.id for hit in found.hits if hit.id >= 900_000] == expected, term
    likes = [s for s in statements if "search_text LIKE" in s]
    if db.session.get_bind().dialect.name == "sqlite":
        assert likes == [], likes  # matched through the FTS5 trigram table only
    else:  # pg_trgm answers LIKE '%MARK term MARK%' (three or four characters) from its GIN index
        assert likes


def test_the_gram_list_is_kept_once_and_ends_the_text():
    assert f"{GRAM_MARK}3d{GRAM_MARK}" in with_grams("3d打印 服务")  # a short word touching a CJK run
    text = with_grams("供应链融资 3d")
    assert text.startswith("供应链融资 3d\n")
    assert f"{GRAM_MARK}融资{GRAM_MARK}" in text and f"{GRAM_MARK}3d{GRAM_MARK}" in text
    assert with_grams(text) == text


def test_a_broad_query_ranks_a_bounded_set_says_at_least_and_keeps_the_exact_title(engine_backend, monkeypatch):
    monkeypatch.setattr(builtin, "CANDIDATES", 20)
    oldest = document(99, "Thermal chamber", "thermal testing", created=utcnow() - timedelta(days=400))
    engine_backend.apply([oldest] + [document(n, f"Thermal rig {n}", "thermal testing") for n in range(1, 40)], [])
    found = engine_backend.search(SearchQuery(text="thermal chamber"))
    assert found.hits[0].id == oldest["id"]  # the only full match
    broad = engine_backend.search(SearchQuery(text="thermal", per_page=5))
    assert broad.approximate and broad.total >= 20
    assert sum(broad.facets["type"].values()) == broad.total  # facets count the same bounded set
    exact = engine_backend.search(SearchQuery(text="thermal chamber"))
    assert exact.hits[0].title == "Thermal chamber"
    titled = engine_backend.search(SearchQuery(text="Thermal chamber"))
    assert titled.hits[0].id == oldest["id"]
    # the exact title is ranked although it is the oldest and outside the newest 20 matches of "thermal"
    by_title = engine_backend.search(SearchQuery(text="thermal"))
    assert by_title.approximate
    # a page beyond the candidate set is still reachable (the set grows to the page asked for)
    deep = engine_backend.search(SearchQuery(text="thermal", page=5, per_page=5))
    assert len(deep.hits) == 5


def test_the_title_that_is_the_query_ranks_first_in_a_capped_set(engine_backend, monkeypatch):
    monkeypatch.setattr(builtin, "CANDIDATES", 10)
    target = document(500, "Rig", "rig", created=utcnow() - timedelta(days=900))
    engine_backend.apply([target] + [document(n, f"Test rig {n}", "rig") for n in range(1, 30)], [])
    found = engine_backend.search(SearchQuery(text="rig"))
    assert found.approximate
    assert found.hits[0].id == target["id"]


def test_a_facet_under_its_own_filter_is_cached_per_query(engine_backend, statements):
    engine_backend.apply([document(1, "Kiln", "ceramic", city="Qingdao"),
                          document(2, "Kiln two", "ceramic", city="Foshan")], [])
    query = SearchQuery(text="ceramic", city="Qingdao")
    statements.clear()
    first = engine_backend.search(query)
    cold = len(statements)
    statements.clear()
    second = engine_backend.search(query)
    assert second.facets == first.facets and first.facets["city"].get("Foshan") == 1
    assert len(statements) < cold
    engine_backend.apply([document(3, "Kiln three", "ceramic", city="Foshan")], [])  # a write clears it
    assert engine_backend.search(query).facets["city"]["Foshan"] == 2


def test_a_sort_orders_the_pool_of_newest_matches_and_counts_at_most_the_candidates(engine_backend, monkeypatch):
    monkeypatch.setattr(builtin, "CANDIDATES", 5)
    monkeypatch.setattr(builtin, "SORT_POOL", 20)
    # the cheapest kiln is indexed first (the oldest row): within the pool, so it still comes first
    engine_backend.apply([{**document(n, f"Kiln {n}", "ceramic"), "price_min": 1000 * (n + 1)}
                          for n in range(12)], [])
    found = engine_backend.search(SearchQuery(text="kiln", sort="price", per_page=5))
    assert found.approximate and found.total == 5
    assert [hit.price_min for hit in found.hits] == [1000, 2000, 3000, 4000, 5000]
    monkeypatch.setattr(builtin, "SORT_POOL", 6)  # more matches than the pool: the newest six are sorted
    pooled = engine_backend.search(SearchQuery(text="kiln", sort="price", per_page=5))
    assert pooled.approximate and [hit.price_min for hit in pooled.hits] == [7000, 8000, 9000, 10000, 11000]


def test_documents_whose_fields_tie_rank_by_how_often_the_term_occurs(engine_backend):
    engine_backend.apply([document(1, "Kiln one", "glaze ceramic glaze"),
                          document(2, "Kiln two", "ceramic tiles, ceramic cups, ceramic glaze")], [])
    found = engine_backend.search(SearchQuery(text="ceramic"))
    assert [hit.id for hit in found.hits] == [900_002, 900_001]  # not the newest first: three mentions


def test_a_word_fused_with_chinese_text_is_found_although_the_vocabulary_lacks_it(engine_backend):
    # "xylophonic供应链" is one letter run with CJK in it: not a vocabulary word (typo tolerance), still a match
    engine_backend.apply([document(1, "Sound lab", "xylophonic供应链 studio")], [])
    assert [hit.id for hit in engine_backend.search(SearchQuery(text="xylophonic")).hits] == [900_001]
    assert [hit.id for hit in engine_backend.search(SearchQuery(text="xylophonic studio")).hits] == [900_001]


def test_browsing_by_price_reads_the_cheapest_first_then_the_unpriced(engine_backend, monkeypatch):
    monkeypatch.setattr(builtin, "CANDIDATES", 4)
    engine_backend.apply([{**document(n, f"Bench {n}"), "price_min": None if n % 2 else 1000 * (10 - n)}
                          for n in range(6)], [])  # priced: n=0, 2, 4 -> 10000, 8000, 6000
    first = engine_backend.search(SearchQuery(text="", types=("resource",), sort="price", per_page=2))
    assert [hit.price_min for hit in first.hits] == [6000, 8000] and first.approximate and first.total == 4
    second = engine_backend.search(SearchQuery(text="", types=("resource",), sort="price", per_page=2, page=2))
    assert [hit.price_min for hit in second.hits] == [10000, None]
    everything = engine_backend.search(SearchQuery(text="", types=("resource",), sort="price"))
    assert [hit.price_min for hit in everything.hits] == [6000, 8000, 10000, None, None, None]
    assert not everything.approximate
