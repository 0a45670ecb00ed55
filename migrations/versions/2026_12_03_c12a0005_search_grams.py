"""Search (issue 13): short terms through the trigram indexes. Each document's search text gains its gram
list (portal/search/text.py `with_grams`): one- and two-character CJK substrings and short words between
private-use marks, so 融资 or 青岛 is answered by the FTS5 / pg_trgm index instead of a LIKE scan. Existing
rows are rewritten here (the SQLite triggers keep the FTS table in step); new rows get it when indexed.

Revision ID: c12a0005
Revises: c12a0004
Create Date: 2026-12-03 00:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'c12a0005'
down_revision = 'c12a0004'
branch_labels = None
depends_on = None

BATCH = 1000
documents = sa.table("search_document", sa.column("id", sa.Integer), sa.column("search_text", sa.Text))


def _rewrite(change) -> None:
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(sa.select(documents.c.id, documents.c.search_text)
                                  .where(documents.c.id > last).order_by(documents.c.id).limit(BATCH)).all()
        if not rows:
            return
        updates = [{"row_id": row_id, "text": change(text or "")} for row_id, text in rows
                   if change(text or "") != (text or "")]
        if updates:
            connection.execute(documents.update().where(documents.c.id == sa.bindparam("row_id"))
                               .values(search_text=sa.bindparam("text")), updates)
        last = rows[-1][0]


def upgrade():
    from portal.search.text import with_grams

    _rewrite(with_grams)


def downgrade():
    from portal.search.text import GRAM_MARK

    _rewrite(lambda text: text.split("\n" + GRAM_MARK, 1)[0])
