"""Notifications: every mail a service sends through `portal.mail` also lands, for people with an account,
in their in-app notification centre (the bell in the navbar), subject to their per-kind preferences.

`init_app` registers the blueprint and the navbar's unread count; models are imported by the app factory.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from portal.notifications import api, policies, views  # noqa: F401  (registers)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.context_processor(views.unread_count_helper)
