"""Sandbox payment state in the database (issue 11): any process continues any flow.

Revision ID: c11a0003
Revises: c11a0002
Create Date: 2026-12-02 00:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'c11a0003'
down_revision = 'c11a0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('funding_sandbox_object',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('parent_ref', sa.String(length=64), nullable=True),
    sa.Column('idempotency_key', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('customer_ref', sa.String(length=255), nullable=True),
    sa.Column('payment_method_ref', sa.String(length=255), nullable=True),
    sa.Column('fee', sa.Integer(), nullable=True),
    sa.Column('refunded', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_sandbox_object')),
    sa.UniqueConstraint('kind', 'idempotency_key', name=op.f('uq_funding_sandbox_object_kind_idempotency_key')),
    sa.UniqueConstraint('ref', name=op.f('uq_funding_sandbox_object_ref'))
    )
    with op.batch_alter_table('funding_sandbox_object', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_sandbox_object_parent_ref'), ['parent_ref'], unique=False)


def downgrade():
    with op.batch_alter_table('funding_sandbox_object', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funding_sandbox_object_parent_ref'))
    op.drop_table('funding_sandbox_object')
