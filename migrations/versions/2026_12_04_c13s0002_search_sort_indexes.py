"""Search (issue 13): indexes on search_document (price_min, id) and (rating, id), so browsing without words
sorted by price or rating reads the first rows in order instead of sorting every document.

Revision ID: c13s0002
Revises: c13s0001
Create Date: 2026-12-04 00:00:01.000000

"""
from alembic import op

revision = 'c13s0002'
down_revision = 'c13s0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_search_document_price_min_id", "search_document", ["price_min", "id"])
    op.create_index("ix_search_document_rating_id", "search_document", ["rating", "id"])


def downgrade():
    op.drop_index("ix_search_document_rating_id", table_name="search_document")
    op.drop_index("ix_search_document_price_min_id", table_name="search_document")
