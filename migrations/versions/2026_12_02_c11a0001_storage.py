"""Storage (issue 11): content-addressed stored files (several rows may share one object).

Revision ID: c11a0001
Revises: 80ce0849bc67
Create Date: 2026-12-02 00:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'c11a0001'
down_revision = '80ce0849bc67'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
