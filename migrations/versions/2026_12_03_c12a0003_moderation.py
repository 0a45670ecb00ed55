"""Issue 12: moderation. Flags on content (content_flag), `hidden_at` on the flaggable objects (campaigns,
campaign comments, ideas, idea comments), and a campaign's launch time (`launch_at`).

Revision ID: c12a0003
Revises: c12a0002
Create Date: 2026-12-03 00:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'c12a0003'
down_revision = 'c12a0002'
branch_labels = None
depends_on = None

HIDDEN = ('campaign', 'campaign_comment', 'idea', 'idea_comment')


def upgrade():
    op.create_table('content_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=30), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name=op.f('ck_content_flag_status_valid')),
    sa.CheckConstraint("reason IN ('spam', 'offensive', 'misleading', 'infringement', 'other')",
                       name=op.f('ck_content_flag_reason_valid')),
    sa.CheckConstraint("object_type IN ('campaign', 'campaign_comment', 'idea', 'idea_comment')",
                       name=op.f('ck_content_flag_object_type_valid')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'],
                            name=op.f('fk_content_flag_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reporter_id'], ['user_account.id'],
                            name=op.f('fk_content_flag_reporter_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_flag'))
    )
    with op.batch_alter_table('content_flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_content_flag_reporter_id'), ['reporter_id'], unique=False)
        batch_op.create_index('ix_content_flag_status_object', ['status', 'object_type', 'object_id'], unique=False)
        batch_op.create_index('uq_content_flag_open_per_reporter', ['object_type', 'object_id', 'reporter_id'],
                              unique=True, sqlite_where=sa.text("status = 'open'"),
                              postgresql_where=sa.text("status = 'open'"))

    for table in HIDDEN:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('launch_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('launch_at')
    for table in reversed(HIDDEN):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('hidden_at')

    with op.batch_alter_table('content_flag', schema=None) as batch_op:
        batch_op.drop_index('uq_content_flag_open_per_reporter', sqlite_where=sa.text("status = 'open'"),
                            postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_content_flag_status_object')
        batch_op.drop_index(batch_op.f('ix_content_flag_reporter_id'))

    op.drop_table('content_flag')
