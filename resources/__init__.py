"""Domain package: resources. `init_app` registers its blueprints, policies, panels and demo data."""

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from portal.templating import NAV, nav_item
    from resources import api, dashboard, demo, models, policies, views  # noqa: F401  (registers)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    if not any(item.endpoint == "resources.index" for item in NAV):  # one entry however many apps
        nav_item(_l("Labs & equipment"), "resources.index", order=20)
