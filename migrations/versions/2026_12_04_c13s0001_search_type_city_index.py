"""Search (issue 13): on PostgreSQL, an index on search_document (doc_type, city, id) so a search filtered by
type and city walks the newest matching rows of that type and city instead of the whole primary key.
SQLite reads its FTS5 table in rowid order and gets none (portal/search/models.py).

Revision ID: c13s0001
Revises: c12a0005
Create Date: 2026-12-04 00:00:00.000000

"""
from alembic import op

revision = 'c13s0001'
down_revision = 'c12a0005'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_search_document_doc_type_city_id", "search_document", ["doc_type", "city", "id"])


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_search_document_doc_type_city_id", table_name="search_document")
