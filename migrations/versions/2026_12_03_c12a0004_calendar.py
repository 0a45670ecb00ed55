"""Issue 12: the clickable calendar needs no schema change: the grid's step is derived from the resource's
minimum booking, buffer and the hour (resources.bookings.step_minutes). Kept so the revision chain stays as
released.

Revision ID: c12a0004
Revises: c12a0003
Create Date: 2026-12-03 00:00:00.000000

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = 'c12a0004'
down_revision = 'c12a0003'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
