"""Issue 12: images where people look for them.

Stored files learn their size in pixels and their thumbnail (written by a job; None until it is
ready). Organisations, projects and mentor profiles get a logo or avatar, and campaigns a gallery next
to their cover (`campaign.media_id`).

Revision ID: c12a0002
Revises: c12a0001
Create Date: 2026-12-03 00:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'c12a0002'
down_revision = 'c12a0001'
branch_labels = None
depends_on = None

# (table, column, name of its foreign key to stored_file)
IMAGE_COLUMNS = (
    ('organisation', 'logo_id', 'fk_organisation_logo_id_stored_file'),
    ('project', 'logo_id', 'fk_project_logo_id_stored_file'),
    ('mentor_profile', 'avatar_id', 'fk_mentor_profile_avatar_id_stored_file'),
)


def upgrade():
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('height', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('thumb_key', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('thumb_width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('thumb_height', sa.Integer(), nullable=True))
    for table, column, constraint in IMAGE_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
            batch_op.create_foreign_key(constraint, 'stored_file', [column], ['id'], ondelete='SET NULL')
    op.create_table(
        'campaign_image',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('stored_file_id', sa.Integer(), nullable=False),
        sa.Column('caption', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_image_campaign_id_campaign'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['stored_file_id'], ['stored_file.id'],
                                name=op.f('fk_campaign_image_stored_file_id_stored_file')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_image')),
    )
    with op.batch_alter_table('campaign_image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_image_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_image_stored_file_id'), ['stored_file_id'], unique=False)


def downgrade():
    with op.batch_alter_table('campaign_image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_image_stored_file_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_image_campaign_id'))
    op.drop_table('campaign_image')
    for table, column, constraint in reversed(IMAGE_COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(constraint, type_='foreignkey')
            batch_op.drop_column(column)
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.drop_column('thumb_height')
        batch_op.drop_column('thumb_width')
        batch_op.drop_column('thumb_key')
        batch_op.drop_column('height')
        batch_op.drop_column('width')
