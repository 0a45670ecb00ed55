"""Statuses (issue 10): CHECK constraints on the stored choices that had none (user roles, membership and
invitation roles, training-request statuses, a booking's audience and price unit, organisation kinds), and the
CHECKs the models declared but no migration created (mentor slot ratings, program credits, resource
cancellation terms and quota).

The status columns already had theirs (`ck_<table>_status_valid` / `ck_<table>_status_known`), with the same
values the `Status` enums now hold, so they stay as they are.

On SQLite a new CHECK means re-creating the table (batch mode), and dropping the old table would cascade
through the foreign keys pointing at it; tables others refer to (`organisation`, `booking`, `program`,
`resource`) therefore get their new CHECKs on PostgreSQL only, as the models say (`.ddl_if(dialect=...)`).

A row violating a new CHECK makes the upgrade stop, naming the table and the condition (the portal never
writes one; correct such rows by hand first).

Revision ID: 80ce0849bc67
Revises: b505e7140522
Create Date: 2026-12-01 12:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


# (table, constraint, condition, PostgreSQL only): values as of this revision, not imported from the models,
# so that the migration keeps meaning what it meant when the models change.
CHECKS = [
    ("user_role", "ck_user_role_role_known", _one_of("role", ("founder", "company", "mentor", "backer", "admin")),
     False),
    ("membership", "ck_membership_role_known", _one_of("role", ("owner", "member")), False),
    ("invitation", "ck_invitation_role_known", _one_of("role", ("owner", "member")), False),
    ("resource_training_request", "ck_resource_training_request_status_known",
     _one_of("status", ("open", "granted", "declined")), False),
    ("mentor_slot", "ck_mentor_slot_rating_range", "rating IS NULL OR (rating >= 1 AND rating <= 5)", False),
    ("organisation", "ck_organisation_kind_known", _one_of("kind", ("startup", "company")), True),
    ("booking", "ck_booking_audience_known", _one_of("audience", ("incubatee", "startup", "external")), True),
    ("booking", "ck_booking_price_unit_known", _one_of("price_unit", ("hour", "use")), True),
    ("program", "ck_program_credit_amount_positive", "credit_amount IS NULL OR credit_amount > 0", True),
    ("resource", "ck_resource_cancel_free_hours_non_negative", "cancel_free_hours >= 0", True),
    ("resource", "ck_resource_late_cancel_fee_percent_range", "late_cancel_fee_percent BETWEEN 0 AND 100", True),
    ("resource", "ck_resource_quota_positive", "quota_minutes_per_week IS NULL OR quota_minutes_per_week > 0", True),
]

# revision identifiers, used by Alembic.
revision = '80ce0849bc67'
down_revision = 'b505e7140522'
branch_labels = None
depends_on = None


def _checks():
    postgresql = op.get_bind().dialect.name == "postgresql"
    return [(table, name, condition) for table, name, condition, pg_only in CHECKS if postgresql or not pg_only]


def upgrade():
    checks = _checks()
    bind = op.get_bind()
    for table, name, condition in checks:  # all refusals at once, before anything changes
        bad = bind.execute(sa.text(f"SELECT count(*) FROM {table} WHERE NOT ({condition})")).scalar()
        if bad:
            raise RuntimeError(f"{bad} row(s) of {table} break the new CHECK {name} ({condition}); "
                               "correct them, then upgrade again")
    for table, name, condition in checks:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(batch_op.f(name), condition)


def downgrade():
    for table, name, _condition in reversed(_checks()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(name), type_="check")
