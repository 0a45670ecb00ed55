"""Domain package: incubation. `init_app` registers its blueprints, policies, panels, search documents and demo data."""

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    # Imported here, not at package import, so that portal and the domain packages load in any order.
    from incubation import api, dashboard, demo, incubatees, models, policies, search, views  # noqa: F401
    from portal.templating import nav_item

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.jinja_env.globals.update(views.TEMPLATE_GLOBALS)
    nav_item(_l("Projects"), "incubation.project_index", order=10, group="incubation")
    nav_item(_l("Programs"), "incubation.program_index", order=11, group="incubation")
    nav_item(_l("Mentors"), "incubation.mentor_index", order=12, group="incubation")
    nav_item(_l("Ideas"), "incubation.idea_index", order=40, group="cocreation")
