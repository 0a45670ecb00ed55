"""Search tables: the transactional outbox, and the built-in backend's document table.

`search_outbox` rows are written in the same transaction as the data they describe (see sync.py)
and applied after commit by a job; applied rows are kept for a day so that a reindex can replay
what changed while it ran.

`search_document` is the built-in backend's index. Its full-text structures are dialect-specific
and cannot be plain metadata, so they are attached as DDL events (the migration must repeat them):
- SQLite: an FTS5 virtual table with the trigram tokenizer over `search_text`, external content,
  kept in sync by three triggers;
- PostgreSQL: the pg_trgm extension, a GIN trigram index on `search_text` (substring LIKE) and a
  GIN trigram index on `search_term.word` (typo tolerance). The pg_trgm extension is created before
  `search_document`; the migration must create it before either table's indexes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, Float, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, utcnow
from portal.extensions import db


class SearchOutbox(db.Model):
    """One changed object to (re)index. `applied_at` is set once the backend has it."""

    __tablename__ = "search_outbox"
    __table_args__ = (Index("ix_search_outbox_applied_at_id", "applied_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A document type (mentor, resource, project, campaign) or a source that expands into
    # documents when applied (user -> mentor, organisation -> its resources, projects, campaigns).
    kind: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SearchDocument(db.Model):
    """A searchable, public document, as the built-in backend stores it.

    `*_text` columns keep the display text (snippets); `search_text` is the NFKC-casefolded
    concatenation that is matched. List-valued facets are stored delimited (`|zh|en|`), so a
    filter is a LIKE on `|value|` and facets group by the whole string.
    """

    __tablename__ = "search_document"
    __table_args__ = (
        UniqueConstraint("doc_type", "object_id"),
        Index("ix_search_document_doc_type_created_at", "doc_type", "created_at"),
        Index("ix_search_document_title_norm", "title_norm"),
        # PostgreSQL walks it backwards for a type and a city filter together (newest matches of one type in
        # one city: 2 ms instead of 30-40 ms along the primary key at 100,000 documents). SQLite reads the
        # FTS5 table in rowid order instead and needs none.
        Index("ix_search_document_doc_type_city_id", "doc_type", "city", "id").ddl_if(dialect="postgresql"),
        # Browsing (no words) by price or rating reads these in order and stops at the candidate bound.
        Index("ix_search_document_price_min_id", "price_min", "id"),
        Index("ix_search_document_rating_id", "rating", "id"),
        Index("ix_search_document_search_text_trgm", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    title_norm: Mapped[str] = mapped_column(String(300))
    keywords_text: Mapped[str] = mapped_column(Text, default="")
    keywords_norm: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    city: Mapped[str] = mapped_column(String(80), default="", index=True)
    industries: Mapped[str] = mapped_column(String(500), default="")
    languages: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(40), default="")
    price_min: Mapped[int | None] = mapped_column(Integer)
    price_max: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="")
    rating: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SearchTerm(db.Model):
    """The vocabulary of the built-in index (Latin-script words of four or more letters).

    Typo tolerance looks up similar words here (small: one row per distinct word) and then searches
    the documents for those words exactly, as Elasticsearch expands a fuzzy term. Words are only
    added; a stale word costs nothing (it matches no document) and `search reindex` rebuilds it.
    """

    __tablename__ = "search_term"
    __table_args__ = (
        Index("ix_search_term_word_trgm", "word", postgresql_using="gin",
              postgresql_ops={"word": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
    )

    word: Mapped[str] = mapped_column(String(40), primary_key=True)


# ---- dialect-specific full-text DDL (repeat it in the migration) ------------------------------

SQLITE_FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_document_fts USING fts5("
    "search_text, content='search_document', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS search_document_ai AFTER INSERT ON search_document BEGIN "
    "INSERT INTO search_document_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS search_document_ad AFTER DELETE ON search_document BEGIN "
    "INSERT INTO search_document_fts(search_document_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS search_document_au AFTER UPDATE ON search_document BEGIN "
    "INSERT INTO search_document_fts(search_document_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO search_document_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
)
SQLITE_FTS_DROP = "DROP TABLE IF EXISTS search_document_fts"
POSTGRES_EXTENSION_DDL = "CREATE EXTENSION IF NOT EXISTS pg_trgm"

_table = SearchDocument.__table__
for _needs_trgm in (_table, SearchTerm.__table__):
    event.listen(_needs_trgm, "before_create", DDL(POSTGRES_EXTENSION_DDL).execute_if(dialect="postgresql"))
for _statement in SQLITE_FTS_DDL:
    event.listen(_table, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
event.listen(_table, "before_drop", DDL(SQLITE_FTS_DROP).execute_if(dialect="sqlite"))
