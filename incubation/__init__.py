"""Domain package: incubation. `init_app` registers its blueprints, policies, panels and demo data."""

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    # Imported here, not at package import, so that portal and the domain packages load in any order.
    from incubation import api, dashboard, demo, models, policies, views  # noqa: F401
    from portal.templating import NAV, nav_item

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.jinja_env.globals.update(views.TEMPLATE_GLOBALS)
    registered = {item.endpoint for item in NAV}  # one app per process in production; several in tests
    for label, endpoint, order in ((_l("Projects"), "incubation.project_index", 10),
                                   (_l("Programs"), "incubation.program_index", 20),
                                   (_l("Mentors"), "incubation.mentor_index", 30),
                                   (_l("Ideas"), "incubation.idea_index", 40)):
        if endpoint not in registered:
            nav_item(label, endpoint, order=order)
