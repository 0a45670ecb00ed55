"""Domain package: resources. `init_app` registers its blueprints, policies, panels, periodic jobs and demo data."""

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from portal.jobs import register_periodic
    from portal.templating import nav_item
    from resources import api, dashboard, demo, models, policies, search, tasks, views  # noqa: F401  (registers)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    nav_item(_l("Browse labs and equipment"), "resources.index", order=20, group="resources")
    nav_item(_l("Idle capacity, next 14 days"), "resources.idle", order=21, group="resources")
    nav_item(_l("My bookings"), "resources.my_bookings", roles=("founder", "company", "mentor", "backer"), order=22,
             group="resources")
    nav_item(_l("Approvals"), "resources.approvals", roles=("company",), order=23, group="resources")
    # Ended bookings become completed (reviewable), undecided requests past their start are rejected.
    register_periodic("resources.complete_past_bookings", "resources.tasks.complete_past_bookings", 15 * 60)
