"""`flask db upgrade` on an empty database yields exactly the models, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from portal.db import migration_filter
from portal.extensions import db
from tests.conftest import make_test_app
from tests.dbutil import drop_scratch_database, scratch_database_url


@pytest.fixture
def migrated_app(tmp_path):
    url = scratch_database_url("migrations", tmp_path)
    app = make_test_app(url)
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()
    drop_scratch_database(url)


def test_upgrade_matches_the_models(migrated_app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": migration_filter(connection.dialect.name)})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models and migrations differ; run `flask db migrate`: {differences}"


def test_migrated_audit_table_is_append_only(migrated_app):
    from portal import audit
    from portal.db import commit

    event = audit.record("test.migrated")
    commit()
    with pytest.raises(DatabaseError):
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE audit_event SET action = 'x' WHERE id = :id"), {"id": event.id})


def test_downgrade_to_base_and_upgrade_again(migrated_app):
    downgrade(revision="base")
    with db.engine.connect() as connection:
        tables = set(db.inspect(connection).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()


def test_migrations_create_the_guards_autogenerate_cannot_see(migrated_app):
    """Triggers and the booking exclusion constraint live only in the migrations' raw DDL."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            constraints = set(connection.execute(text("SELECT conname FROM pg_constraint")).scalars())
            triggers = set(connection.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
            assert "booking_no_overlap" in constraints
            assert {"audit_event_append_only", "ledger_entry_append_only"} <= triggers
            indexes = set(connection.execute(text("SELECT indexname FROM pg_indexes")).scalars())
            assert {"ix_search_document_search_text_trgm", "ix_search_term_word_trgm"} <= indexes
        else:
            triggers = set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
            assert {"audit_event_no_update", "audit_event_no_delete", "ledger_entry_no_update",
                    "ledger_entry_no_delete", "search_document_ai", "search_document_au",
                    "search_document_ad"} <= triggers
            tables = set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars())
            assert "search_document_fts" in tables


def _declared_checks(dialect_name: str) -> set[tuple[str, str]]:
    """(table, constraint) of every named CHECK the models declare for this database."""
    from sqlalchemy import CheckConstraint

    checks = set()
    for table in db.metadata.tables.values():
        for constraint in table.constraints:
            condition = getattr(constraint, "_ddl_if", None)
            if isinstance(constraint, CheckConstraint) and constraint.name and not (
                    condition is not None and condition.dialect and condition.dialect != dialect_name):
                checks.add((table.name, str(constraint.name)))
    return checks


def test_migrations_create_every_check_of_the_models(migrated_app):
    """Autogenerate does not compare CHECK constraints: every one the models declare must exist (statuses,
    kinds, amounts), also after SQLite's batch mode re-created a table."""
    with db.engine.connect() as connection:
        inspector = db.inspect(connection)
        declared = _declared_checks(connection.dialect.name)
        present = {(table, check["name"]) for table in inspector.get_table_names()
                   for check in inspector.get_check_constraints(table) if check.get("name")}
    assert declared - present == set()
    assert len(declared) > 50  # (59 on SQLite, 66 on PostgreSQL as of the statuses migration)


def test_upgrading_a_database_with_data_keeps_every_row(migrated_app):
    """SQLite re-creates a table to change it (batch mode): with foreign keys on, dropping the old
    `booking` dropped every review pointing at it. Migrations run with them off and checked after."""
    from sqlalchemy import inspect

    from portal.demo import seed_demo

    migrated_app.config["MAIL_SUPPRESS"] = True
    seed_demo()
    db.session.commit()
    db.session.remove()

    def counts(tables):
        with db.engine.connect() as connection:
            return {t: connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}

    downgrade(revision="24ea8fc22a0b")  # before the trust migration, which re-creates `booking`
    older = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    before = counts(older)
    assert before["resource_review"] > 0 and before["booking"] > 0
    upgrade()
    assert counts(older) == before
