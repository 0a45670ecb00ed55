"""Moderation: people flag campaigns, comments and ideas; admins hide, restore or dismiss (portal.moderation.services)."""

from flask import Flask


def init_app(app: Flask) -> None:
    from portal.moderation import models, services, views  # noqa: F401

    services.register_policies()
    app.register_blueprint(views.bp)
