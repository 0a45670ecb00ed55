"""Issue 12: moderation (placeholder; the helper that owns it fills it in).

Revision ID: c12a0003
Revises: c12a0002
Create Date: 2026-12-03 00:00:00.000000

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'c12a0003'
down_revision = 'c12a0002'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
