"""Scratch databases for tests that must commit for real (migrations, live-server browser tests)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text
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
