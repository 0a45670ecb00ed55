"""Scratch databases for tests that must commit for real (migrations, live-server browser tests)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from portal.config import normalise_database_url


def base_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    return normalise_database_url(url) if url else None


def scratch_database_url(name: str, tmp_dir: Path) -> str:
    """A fresh, empty database: a new SQLite file, or a re-created PostgreSQL database."""
    url = base_url()
    if url is None:
        path = tmp_dir / f"{name}.sqlite3"
        if path.exists():
            path.unlink()
        return f"sqlite:///{path}"
    parsed = make_url(url)
    database = f"{parsed.database}_{name}_{os.getpid()}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return parsed.set(database=database).render_as_string(hide_password=False)


def drop_scratch_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = create_engine(make_url(base_url()), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def empty_database(engine) -> None:
    """Drop every table of the database (the Alembic version table too), so that `upgrade()` starts
    from nothing. PostgreSQL test databases are reused between runs; functions and extensions the
    migrations create are `CREATE OR REPLACE` / `IF NOT EXISTS`, so they may stay."""
    with engine.begin() as connection:
        names = inspect(connection).get_table_names()
        if connection.dialect.name == "postgresql":
            for name in names:
                connection.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
        else:  # (the session's SQLite file is new: normally nothing to drop)
            for name in sorted(names, key=lambda n: n != "search_document_fts"):  # the FTS table owns its shadows
                if not name.startswith("sqlite_") and not name.startswith("search_document_fts_"):
                    connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')


@contextmanager
def counted_statements():
    """The SQL statements the app's engine runs inside the `with` block (a list, filled as they run)."""
    from sqlalchemy import event

    from portal.extensions import db

    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
