"""Sandbox payment state in the database (issue 11): any process continues any flow.

Revision ID: c11a0003
Revises: c11a0002
Create Date: 2026-12-02 00:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'c11a0003'
down_revision = 'c11a0002'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
