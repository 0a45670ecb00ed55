"""Command-line interface: `flask --app portal <group> <command>`."""

from __future__ import annotations

import sys
import threading
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from portal.db import commit
from portal.extensions import db

users_cli = AppGroup("users", help="Manage user accounts.")
audit_cli = AppGroup("audit", help="Inspect the hash-chained audit log.")
jobs_cli = AppGroup("jobs", help="Background jobs (RQ worker and periodic work).")


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 10 characters.")
@click.option("--name", default=None)
def create_admin_command(email: str, password: str, name: str | None) -> None:
    """Create a platform admin (or make an existing account admin and set its password)."""
    from portal.auth.services import create_admin
    from portal.errors import PortalError

    try:
        user = create_admin(email, password, name)
        commit()
    except PortalError as error:
        db.session.rollback()
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in error.fields.items()) or error.message
        raise click.ClickException(detail) from None
    click.echo(f"Admin {user.email} (id {user.id}) is ready.")


@audit_cli.command("verify")
def audit_verify_command() -> None:
    """Check every row's hash and link in every audit stream, and the streams against every signed
    checkpoint; exit 1 naming the first tampered row of each stream or each checkpoint that no longer
    matches."""
    from portal.audit import AuditEvent, verify
    from portal.checkpoints import verify_checkpoints

    total = db.session.scalar(select(func.count(AuditEvent.id))) or 0
    with click.progressbar(length=total, label="Verifying audit chain", file=sys.stderr) as bar:
        result = verify(progress=bar.update)
    with click.progressbar(length=total, label="Checking checkpoints", file=sys.stderr) as bar:
        report = verify_checkpoints(progress=bar.update)
    failed = False
    if result.ok:
        click.echo(f"OK: {result.checked} audit events in {result.streams} stream(s), every chain intact.")
    else:
        failed = True
        for broken in result.problems:  # the first broken row of each broken stream
            click.echo(f"TAMPERED: row {broken.row_id}: {broken.reason}.", err=True)
    for problem in report.problems:
        failed = True
        click.echo(f"TAMPERED: checkpoint {problem.sequence} no longer matches: {problem.reason}.", err=True)
    if not report.problems:
        click.echo(f"OK: {report.checked} signed checkpoint(s) match the chain.")
    if failed:
        sys.exit(1)


@audit_cli.command("checkpoint")
def audit_checkpoint_command() -> None:
    """Sign and publish the chain's head (also hourly as a periodic job); with TSA_URL, timestamp it."""
    from portal.checkpoints import checkpoint_now, latest_checkpoint
    from portal.errors import PortalError

    try:
        checkpoint = checkpoint_now()
    except PortalError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    if checkpoint is None:
        latest = latest_checkpoint()
        click.echo("No new audit events since checkpoint "
                   f"{latest.sequence if latest else '(none: the audit log is empty)'}; nothing to sign.")
        return
    stamp = " with an RFC 3161 timestamp" if checkpoint.timestamp_token else ""
    click.echo(f"Checkpoint {checkpoint.sequence}: {checkpoint.rows} rows, head {checkpoint.head_hash} "
               f"(audit row {checkpoint.head_event_id}), signed{stamp} by {checkpoint.public_key}.")
    if current_app.config.get("TSA_URL") and not checkpoint.timestamp_token:
        click.echo("Warning: the timestamp authority did not answer; the checkpoint is stored without a token "
                   "and will be stamped next time.", err=True)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only seed when the database has no users.")
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Create believable bilingual demo data (anchor companies, labs, mentors, startups, a program, a campaign)."""
    from portal.auth.services import count_users
    from portal.demo import seed_demo

    if if_empty and count_users() > 0:
        click.echo("Database already has users: demo data not added.")
        return
    current_app.config["MAIL_SUPPRESS"] = True
    try:
        logins = seed_demo(progress=lambda label: click.echo(f"  - {label}"))
        commit()
    finally:
        current_app.config["MAIL_SUPPRESS"] = False
    from portal.checkpoints import checkpoint_now

    checkpoint = checkpoint_now()  # the demo's history is signed at once, so its receipts can be shown
    if checkpoint is not None:
        click.echo(f"  - audit checkpoint {checkpoint.sequence} signed ({checkpoint.rows} rows)")
    click.echo(f"Demo data ready. Logins (password for all: {logins['password']}):")
    for role, email in logins["accounts"]:
        click.echo(f"  {role:<10} {email}")


@jobs_cli.command("worker")
@click.option("--with-scheduler", is_flag=True,
              help="Also enqueue periodic jobs (one scheduler wins per interval) and relay the job outbox.")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def jobs_worker_command(with_scheduler: bool, burst: bool) -> None:
    """Run an RQ worker for the portal queue (needs REDIS_URL). Survives Redis outages: the worker
    starts again once Redis answers, and the scheduler keeps relaying the outbox meanwhile."""
    from redis.exceptions import RedisError
    from rq import Worker

    from portal.jobs import get_queue, get_redis, scheduler_loop

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run inline, no worker is needed.")
    stop = threading.Event()
    if with_scheduler:
        # RQ forks a work-horse per job while this thread runs. Were the thread configuring SQLAlchemy's
        # mappers (its first query) at that moment, the child would inherit the held configure lock and
        # hang on its own first query: configure them now, before any thread exists.
        from sqlalchemy.orm import configure_mappers

        configure_mappers()
        app = current_app._get_current_object()
        threading.Thread(target=scheduler_loop, args=(app, stop), daemon=True, name="periodic").start()
    warned = False
    try:
        while True:
            connection = get_redis(for_worker=True)
            worker = None
            try:
                worker = Worker([get_queue(connection)], connection=connection)
                worker.work(with_scheduler=with_scheduler, burst=burst)
                warned = False
            except RedisError as error:
                # Said once per outage; the scheduler thread keeps relaying the outbox meanwhile.
                if not warned:
                    current_app.logger.warning("worker: Redis unreachable (%s); trying again every 5 s",
                                               type(error).__name__)
                warned = True
            # SIGTERM/SIGINT: RQ sets _stop_requested only when it arrives during a job; an idle worker
            # just returns, with the shutdown's date set. Either way the process ends (no new worker).
            if burst or (worker is not None and (worker._stop_requested or worker._shutdown_requested_date)):
                return
            # RQ's worker quits on a Redis timeout or error: wait and start a new one.
            if stop.wait(5):
                return
    finally:
        stop.set()


@jobs_cli.command("relay")
@click.option("--every", type=float, default=None, metavar="SECONDS",
              help="Keep relaying at this interval (without it: once, then exit).")
def jobs_relay_command(every: float | None) -> None:
    """Hand jobs waiting in the database outbox (written while Redis was unreachable) to RQ."""
    from redis.exceptions import RedisError

    from portal.jobs import outbox_lag_seconds, relay

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run inline, there is no outbox to relay.")
    while True:
        try:
            delivered = relay()
            click.echo(f"relayed {delivered} job(s); oldest waiting: {outbox_lag_seconds():.0f} s")
        except RedisError as error:
            db.session.rollback()
            click.echo(f"Redis unreachable ({type(error).__name__}); jobs stay in the outbox", err=True)
            if every is None:
                sys.exit(1)
        finally:
            db.session.remove()
        if every is None:
            return
        time.sleep(every)


@jobs_cli.command("run-periodic")
def jobs_run_periodic_command() -> None:
    """Run every periodic job once, now (for cron without Redis)."""
    from portal.jobs import run_periodic_once

    for name in run_periodic_once():
        click.echo(f"ran {name}")


def init_app(app: Flask) -> None:
    from portal.uploads import storage_cli

    for command in (users_cli, audit_cli, jobs_cli, seed_demo_command, storage_cli):
        app.cli.add_command(command)
