"""Funding fixtures: a fresh in-memory sandbox provider per test (so its PaymentIntents can be counted)."""

from __future__ import annotations

import pytest

from funding.payments import SandboxProvider


@pytest.fixture
def provider(app):
    fake = SandboxProvider()
    previous = app.extensions.get("funding_provider")
    app.extensions["funding_provider"] = fake
    yield fake
    if previous is None:
        app.extensions.pop("funding_provider", None)
    else:
        app.extensions["funding_provider"] = previous


@pytest.fixture
def admin(factories):
    from portal.auth.models import Role

    return factories.UserFactory(roles=[Role.ADMIN])
