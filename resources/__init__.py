"""Domain package: resources. `init_app` registers its blueprints, policies, panels and demo data."""

from flask import Flask


def init_app(app: Flask) -> None:
    pass
