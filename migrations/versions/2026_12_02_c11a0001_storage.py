"""Storage (issue 11): content-addressed stored files (several rows may share one object).

`stored_file.storage_key` becomes `sha256/ab/abcdef...` (74 characters) for new uploads, and rows holding the
same content share one object: the unique constraint becomes a plain index (the orphan sweep looks keys up
by it) and the column is widened to 128. Older rows keep their random keys, which every backend still serves.
The downgrade copies shared objects so that each row has its own again, and keeps the width (see there).

Revision ID: c11a0001
Revises: 80ce0849bc67
Create Date: 2026-12-02 00:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'c11a0001'
down_revision = '80ce0849bc67'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.drop_constraint('uq_stored_file_storage_key', type_='unique')
        batch_op.alter_column('storage_key', existing_type=sa.String(length=64), type_=sa.String(length=128),
                              existing_nullable=False)
        batch_op.create_index(batch_op.f('ix_stored_file_storage_key'), ['storage_key'], unique=False)


def downgrade():
    # The older schema wants one object per row. Rows sharing an object (identical uploads) get their own
    # copy under `<key>.<row id>`, written through the app's storage (flask db downgrade runs in the app),
    # so no row loses its file. The column stays 128 wide: content-addressed keys are 74 characters, the
    # older code reads keys of any length, and narrowing would truncate them.
    bind = op.get_bind()
    shared = bind.execute(sa.text(
        "SELECT id, storage_key, content_type FROM stored_file WHERE storage_key IN "
        "(SELECT storage_key FROM stored_file GROUP BY storage_key HAVING COUNT(*) > 1) ORDER BY storage_key, id"
    )).all()
    if shared:
        from portal.storage import ObjectMissing, get_storage

        storage = get_storage()
        first_of: set[str] = set()
        for row_id, key, content_type in shared:
            if key not in first_of:
                first_of.add(key)  # the first row keeps the object itself
                continue
            own = f"{key}.{row_id}"
            try:
                storage.put(own, storage.open(key).read(), content_type)
            except ObjectMissing:
                pass  # the row had already lost its file; it keeps pointing at nothing
            bind.execute(sa.text("UPDATE stored_file SET storage_key = :own WHERE id = :id"),
                         {"own": own, "id": row_id})
    with op.batch_alter_table('stored_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stored_file_storage_key'))
        batch_op.create_unique_constraint(batch_op.f('uq_stored_file_storage_key'), ['storage_key'])
