"""Domain package: funding. `init_app` registers its blueprints, policies, panels and demo data."""

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    # Imported here, not at package import, so that portal and the domain packages load in any order.
    from funding import api, dashboard, demo, models, policies, views  # noqa: F401
    from portal.templating import NAV, nav_item

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.jinja_env.globals.update(views.TEMPLATE_GLOBALS)
    if not any(item.endpoint == "funding.campaign_index" for item in NAV):  # several apps per process in tests
        nav_item(_l("Campaigns"), "funding.campaign_index", order=50)
