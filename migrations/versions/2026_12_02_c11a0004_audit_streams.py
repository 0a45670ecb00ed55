"""Audit without a global lock (issue 11): the audit log becomes parallel hash chains ("streams").

Every row gets a stream and its position in it (`seq`); the rows written so far become stream 0 (the
legacy chain) in id order, their hashes unchanged, so they stay verifiable. Unique indexes on
(stream, seq) and (stream, prev_hash) refuse a second row at one position or a fork (the latter
only in the new streams: stream 0 is closed, nothing is appended to it). Checkpoints get
`streams` (the signed length and head of every stream); the append-only guard covers it too.

Downgrade drops the columns; rows written in several streams then no longer form one chain, so
`audit verify` of the older release reports them (run it only on a database never upgraded).

Revision ID: c11a0004
Revises: c11a0003
Create Date: 2026-12-02 00:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'c11a0004'
down_revision = 'c11a0003'
branch_labels = None
depends_on = None

SQLITE_EVENT_GUARD = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
]


def _pg_checkpoint_guard(streams: bool) -> str:
    extra_new, extra_old = (", NEW.streams::text", ", OLD.streams::text") if streams else ("", "")
    return f"""CREATE OR REPLACE FUNCTION audit_checkpoint_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' OR OLD.timestamp_token IS NOT NULL
     OR (NEW.sequence, NEW.rows, NEW.previous_rows, NEW.head_event_id, NEW.head_hash, NEW.batch_root,
         NEW.created_at, NEW.signature, NEW.public_key{extra_new})
        IS DISTINCT FROM (OLD.sequence, OLD.rows, OLD.previous_rows, OLD.head_event_id, OLD.head_hash,
                          OLD.batch_root, OLD.created_at, OLD.signature, OLD.public_key{extra_old}) THEN
    RAISE EXCEPTION 'audit_checkpoint is append-only';
  END IF;
  RETURN NEW;
END
$$ LANGUAGE plpgsql"""


def _sqlite_checkpoint_guard(streams: bool) -> list[str]:
    return [
        "CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint "
        "WHEN OLD.timestamp_token IS NOT NULL OR NEW.sequence IS NOT OLD.sequence OR NEW.rows IS NOT OLD.rows "
        "OR NEW.previous_rows IS NOT OLD.previous_rows OR NEW.head_event_id IS NOT OLD.head_event_id "
        "OR NEW.head_hash IS NOT OLD.head_hash OR NEW.batch_root IS NOT OLD.batch_root "
        "OR NEW.created_at IS NOT OLD.created_at OR NEW.signature IS NOT OLD.signature "
        "OR NEW.public_key IS NOT OLD.public_key "
        + ("OR NEW.streams IS NOT OLD.streams " if streams else "")
        + "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END",
        "CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint "
        "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END",
    ]


def _drop_sqlite_guards() -> None:
    for trigger in ("audit_event_no_update", "audit_event_no_delete", "audit_checkpoint_no_update",
                    "audit_checkpoint_no_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    else:
        _drop_sqlite_guards()
    # NOT NULL with a default fills the existing rows (no table rewrite on SQLite: plain ADD COLUMN)
    op.add_column('audit_event', sa.Column('stream', sa.Integer(), server_default='0', nullable=False))
    op.add_column('audit_event', sa.Column('seq', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE audit_event SET seq = numbered.n FROM "
               "(SELECT id, row_number() OVER (ORDER BY id) AS n FROM audit_event) AS numbered "
               "WHERE audit_event.id = numbered.id")
    op.create_index('uq_audit_event_stream_seq', 'audit_event', ['stream', 'seq'], unique=True)
    op.create_index('uq_audit_event_stream_prev_hash', 'audit_event', ['stream', 'prev_hash'], unique=True,
                    sqlite_where=sa.text("stream > 0"), postgresql_where=sa.text("stream > 0"))
    op.add_column('audit_checkpoint', sa.Column('streams', sa.JSON(), nullable=True))
    if postgresql:
        op.alter_column('audit_event', 'stream', server_default=None)
        op.alter_column('audit_event', 'seq', server_default=None)
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        op.execute(_pg_checkpoint_guard(streams=True))
    else:
        for statement in SQLITE_EVENT_GUARD + _sqlite_checkpoint_guard(streams=True):
            op.execute(statement)


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if not postgresql:
        _drop_sqlite_guards()
    op.drop_index('uq_audit_event_stream_prev_hash', table_name='audit_event')
    op.drop_index('uq_audit_event_stream_seq', table_name='audit_event')
    with op.batch_alter_table('audit_checkpoint', schema=None) as batch_op:
        batch_op.drop_column('streams')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('seq')
        batch_op.drop_column('stream')
    if postgresql:
        op.execute(_pg_checkpoint_guard(streams=False))
    else:
        for statement in SQLITE_EVENT_GUARD + _sqlite_checkpoint_guard(streams=False):
            op.execute(statement)
