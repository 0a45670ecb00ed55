"""`flask --app portal funding ...`: settlement from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

funding_cli = AppGroup("funding", help="Crowdfunding: settle campaigns.")


@funding_cli.command("settle")
@click.option("--campaign", "campaign_id", type=int, default=None,
              help="Settle this campaign now, even before its deadline.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Charges in flight at once.")
@click.option("--rate", type=float, default=None,
              help="At most this many provider calls per second (Stripe: 100 live, 25 test).")
def settle_command(campaign_id: int | None, concurrency: int, rate: float | None) -> None:
    """Settle every campaign past its deadline, or the given one at once. Safe to rerun after a crash."""
    from funding import settlement
    from funding.payments import get_provider

    provider = get_provider()
    click.echo(f"Payment provider: {provider.label}")
    state = {"bar": None}

    def progress(done: int, total: int, outcome: str) -> None:
        if state["bar"] is None:
            state["bar"] = click.progressbar(length=total, label="Charging pledges", file=sys.stderr)
            state["bar"].__enter__()
        state["bar"].update(1)
        if done == total:
            state["bar"].__exit__(None, None, None)
            state["bar"] = None

    report = settlement.settle(campaign_id, concurrency=concurrency, rate=rate, progress=progress)
    if not report.campaigns:
        click.echo("No campaign is due for settlement.")
    for cid, status in report.campaigns.items():
        click.echo(f"campaign {cid}: {status}")
    for outcome, count in sorted(report.outcomes.items()):
        click.echo(f"  {outcome}: {count}")
