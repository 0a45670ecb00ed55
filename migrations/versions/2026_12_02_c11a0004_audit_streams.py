"""Audit without a global lock (issue 11).

Revision ID: c11a0004
Revises: c11a0003
Create Date: 2026-12-02 00:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'c11a0004'
down_revision = 'c11a0003'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
