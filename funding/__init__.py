"""Domain package: funding. `init_app` registers its blueprints, policies, panels, CLI, jobs and demo data."""

from flask import Flask
from flask_babel import lazy_gettext as _l

SETTLEMENT_EVERY_SECONDS = 15 * 60


def init_app(app: Flask) -> None:
    # Imported here, not at package import, so that portal and the domain packages load in any order.
    from funding import api, dashboard, demo, models, policies, search, views  # noqa: F401
    from funding.cli import funding_cli
    from portal.jobs import register_periodic
    from portal.templating import nav_item

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(funding_cli)
    app.jinja_env.globals.update(views.TEMPLATE_GLOBALS)
    from funding.payments import card_text

    app.jinja_env.filters["card"] = card_text  # `{{ pledge.card_label | card }}`: "(sandbox)" translated
    register_periodic("funding.settle", "funding.tasks.settle_due", SETTLEMENT_EVERY_SECONDS)
    nav_item(_l("Campaigns"), "funding.campaign_index", order=41, group="cocreation")
