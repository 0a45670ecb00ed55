"""Job outbox (issue 11): jobs wait in the database while Redis is unreachable.

Revision ID: c11a0002
Revises: c11a0001
Create Date: 2026-12-02 00:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'c11a0002'
down_revision = 'c11a0001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
