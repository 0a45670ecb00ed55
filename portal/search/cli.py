"""`flask --app portal search reindex|status|apply`."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from portal.db import commit
from portal.extensions import db

search_cli = AppGroup("search", help="Search index: rebuild, inspect, apply pending changes.")


@search_cli.command("reindex")
def reindex_command() -> None:
    """Rebuild every document into a new index, then swap it in (Elasticsearch: alias swap)."""
    from portal.search import documents, services
    from portal.search.interfaces import SearchUnavailable

    backend = services.get_backend()
    total = sum(documents.count_sources().values())
    click.echo(f"Reindexing {total} documents into the {backend.name} backend.")
    try:
        with click.progressbar(length=total, label="Indexing", file=sys.stderr) as bar:
            count = services.reindex(progress=bar.update)
        commit()
    except SearchUnavailable as error:
        db.session.rollback()
        raise click.ClickException(f"search backend unavailable: {error}") from None
    click.echo(f"Done: {count} documents indexed.")


@search_cli.command("status")
def status_command() -> None:
    """Searchable rows vs indexed documents per type; exits 1 when they differ or the outbox is stuck."""
    from portal.search import services
    from portal.search.interfaces import SearchUnavailable

    try:
        report = services.status()
    except SearchUnavailable as error:
        raise click.ClickException(f"search backend unavailable: {error}") from None
    click.echo(f"Backend: {services.get_backend().name}")
    click.echo(f"{'type':<10} {'rows':>8} {'indexed':>8}")
    in_sync = True
    for doc_type, numbers in report["types"].items():
        mark = "" if numbers["rows"] == numbers["indexed"] else "  <- differs"
        in_sync = in_sync and not mark
        click.echo(f"{doc_type:<10} {numbers['rows']:>8} {numbers['indexed']:>8}{mark}")
    outbox = report["outbox"]
    click.echo(f"Outbox: {outbox['pending']} pending, {outbox['failing']} failed at least once.")
    if not in_sync or outbox["failing"]:
        sys.exit(1)


@search_cli.command("apply")
def apply_command() -> None:
    """Apply pending outbox rows now (what the periodic job does)."""
    from portal.search.tasks import retry_outbox

    applied = retry_outbox()
    commit()
    click.echo(f"Applied {applied} outbox rows.")
