"""Funding fixtures (the sandbox `provider` is in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def admin(factories):
    from portal.auth.models import Role

    return factories.UserFactory(roles=[Role.ADMIN])
